/// The one path every one-sided operation takes: checked against the epochs and the target's
/// window, issued to the backend under the window's lock, its origin buffers kept lent until it
/// completes at the origin.
extension Window {
    /// Issues `body` (the backend call) for an operation on `target` after the checks; `loan`
    /// and `second` are the origin buffers, ended on failure and otherwise kept until the
    /// operation completes (the epoch's closing call or a flush). Does nothing for the null
    /// process.
    @usableFromInline
    func issue(
        _ what: StaticString, target: Int, displacement: Int, count: Int, loan: Loan, _ second: Loan = .none,
        _ body: () throws(MPIError) -> Void
    ) throws(MPIError) {
        do {
            guard try checkTarget(what, target: target, displacement: displacement, count: count) else {
                loan.end()
                second.end()
                return
            }
            try serially { () throws(MPIError) in
                try epochs.checkOperation(what, target: target)
                try body()
                epochs.lend(loan, target: target)
                epochs.lend(second, target: target)
            }
        } catch {
            loan.end()
            second.end()
            throw error
        }
    }

    /// Issues a request-based operation (`MPI_Rput`…): `body` returns the backend's request, or
    /// `nil` when the operation completed at once. The request owns the loans.
    @usableFromInline
    func issueRequest(
        _ what: StaticString, target: Int, displacement: Int, count: Int, loan first: Loan, _ second: Loan = .none,
        _ body: () throws(MPIError) -> RequestHandle?
    ) throws(MPIError) -> Request {
        let origin = RequestOrigin(.oneSided, peer: target, tag: 0)
        let loan: Loan
        if case .none = second { loan = first } else { loan = .retained(LoanGroup([first, second])) }
        do {
            guard try checkTarget(what, target: target, displacement: displacement, count: count) else {
                loan.end()
                return .completed(backendReference, .null, origin: origin)
            }
            let handle = try serially { () throws(MPIError) -> RequestHandle? in
                try epochs.checkOperation(what, target: target, needsPassive: "MPI allows request-based operations only there")
                return try body()
            }
            guard let handle else {
                loan.end()
                return .completed(backendReference, .null, origin: origin)
            }
            return Request(backend: backendReference, handle: handle, loan: loan, result: nil, origin: origin)
        } catch {
            loan.end()
            throw error
        }
    }

    /// Issues an operation whose result the caller gets at once: it needs a passive-target epoch
    /// on `target`, and completes it there with a local flush before returning.
    @usableFromInline
    func issueAndFlush(
        _ what: StaticString, target: Int, displacement: Int, count: Int, _ body: () throws(MPIError) -> Void
    ) throws(MPIError) -> Bool {
        guard try checkTarget(what, target: target, displacement: displacement, count: count) else { return false }
        try serially { () throws(MPIError) in
            try epochs.checkOperation(what, target: target, needsPassive: "it returns its result at once, completed by a flush; the form with a result buffer works in any epoch")
            try body()
            try backend.flush(handle, target: target, local: true)
            epochs.endLoans(target: target)
        }
        return true
    }

    /// Checks that `op` can accumulate `Element`s: a predefined operation (MPI forbids
    /// user-defined ones here) on a predefined element type, or `.replace`/`.noOp` on any.
    @usableFromInline
    func checkAccumulate(_ op: ReductionOp<Element>, _ what: String) throws(MPIError) {
        guard let builtin = op.reduction.builtin else {
            throw MPIError(.operation, "\(what) takes a predefined operation (MPI allows no user-defined one in one-sided accumulates)")
        }
        switch builtin {
        case .replace, .noOp: return
        case .minimumLocation, .maximumLocation:
            throw MPIError(.unsupported, "\(what) with \(builtin) is not supported (value-index pairs travel as bytes); use .replace under a lock")
        default:
            let type = Element.datatype
            guard type.isPrimitive && !type.isBytes else {
                throw MPIError(.type, "\(what) with \(builtin) needs a predefined element type; \(Element.self) travels as \(type): only .replace and .noOp apply to it")
            }
        }
    }
}

/// Several loans ended together (the origin and compare values of one operation).
@usableFromInline
final class LoanGroup {
    let loans: [Loan]
    @usableFromInline init(_ loans: [Loan]) { self.loans = loans }
    deinit { for loan in loans { loan.end() } }
}
