import MPICore

// Collectives for the recording backend: they record what reached them.
extension RecordingBackend {
    func collective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError) {
        calls.append(describe(operation))
    }

    func immediateCollective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
    {
        calls.append("immediate " + describe(operation))
        return (RequestHandle(raw: 1), nil)
    }

    func persistentCollective(_ operation: CollectiveFields, comm: CommHandle) throws(MPIError)
        -> (request: RequestHandle, resources: AnyObject?)
    {
        calls.append("persistent " + describe(operation))
        return (RequestHandle(raw: 1), nil)
    }

    private func describe(_ operation: CollectiveFields) -> String {
        var text = "\(operation.kind) \(operation.count) \(operation.type)"
        if operation.kind.isRooted { text += " root \(operation.root)" }
        if operation.inPlace { text += " in place" }
        if !operation.receiveCounts.isEmpty { text += " counts \(Array(operation.receiveCounts))" }
        if !operation.receiveDisplacements.isEmpty { text += " displacements \(Array(operation.receiveDisplacements))" }
        if !operation.sendCounts.isEmpty { text += " send counts \(Array(operation.sendCounts))" }
        return text
    }
}
