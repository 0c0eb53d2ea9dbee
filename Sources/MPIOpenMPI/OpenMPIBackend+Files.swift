#if OpenMPI
import CMPI
import MPICore

// Parallel I/O on Open MPI (MPI-4.1 chapter 14): `MPI_File_*`, with the I/O component Open MPI
// selects (Debian's 4.1 build: ompio, with romio321 beside it; `OMPI_MCA_io=romio321` picks
// the other). A file's handle is its `MPI_File`'s bits. Files return errors (MPI's default error
// handler for files is `MPI_ERRORS_RETURN`). An open that fails on one rank fails on every rank
// (an all-gather of the outcome after `MPI_File_open`), as on the shared-memory backend.
// Immediate accesses are requests named by a `RequestRecord` marked `isFile`, whose completion
// counts the bytes moved.

extension FileHandle {
    init(_ file: MPI_File) { self.init(raw: UInt(bitPattern: file)) }
    var mpi: MPI_File { MPI_File(bitPattern: raw).unsafelyUnwrapped }
}

extension OpenMPIBackend {
    package func openFile(_ path: String, mode: Int, comm: CommHandle) throws(MPIError) -> FileHandle {
        guard isActive else { throw MPIError.finalized() }
        var file: MPI_File?
        let code = MPI_File_open(comm.mpi, path, Int32(mode), cmpi_info_null(), &file)
        let local: MPIError? = code == MPI_SUCCESS ? nil : mpiError(code: code, call: "MPI_File_open", context: path)
        // Every rank learns every rank's outcome, so a failure on one is a failure on all.
        var classes = [Int32](repeating: 0, count: size(of: comm))
        var mine: Int32 = local.map { Int32($0.errorClass.rawValue) } ?? 0
        try check(MPI_Allgather(&mine, 1, cmpi_int32(), &classes, 1, cmpi_int32(), comm.mpi), "MPI_Allgather", "opening \(path)")
        if let failed = classes.firstIndex(where: { $0 != 0 }) {
            if local == nil { _ = MPI_File_close(&file) }
            if let local { throw local }
            throw MPIError(MPIError.ErrorClass(rawValue: Int(classes[failed])), "opening \(path) failed on rank \(failed)")
        }
        return FileHandle(file.unsafelyUnwrapped)
    }

    package func closeFile(_ handle: FileHandle) throws(MPIError) {
        var file: MPI_File? = handle.mpi
        try check(MPI_File_close(&file), "MPI_File_close")
    }

    package func deleteFile(_ path: String) throws(MPIError) {
        guard isActive else { throw MPIError.finalized() }
        try check(MPI_File_delete(path, cmpi_info_null()), "MPI_File_delete", path)
    }

    package func fileSize(_ handle: FileHandle) throws(MPIError) -> Int {
        var size: MPI_Offset = 0
        try check(MPI_File_get_size(handle.mpi, &size), "MPI_File_get_size")
        return Int(size)
    }

    package func setFileSize(_ handle: FileHandle, bytes: Int) throws(MPIError) {
        try check(MPI_File_set_size(handle.mpi, MPI_Offset(bytes)), "MPI_File_set_size", "\(bytes) bytes")
    }

    package func preallocateFile(_ handle: FileHandle, bytes: Int) throws(MPIError) {
        try check(MPI_File_preallocate(handle.mpi, MPI_Offset(bytes)), "MPI_File_preallocate", "\(bytes) bytes")
    }

    package func syncFile(_ handle: FileHandle) throws(MPIError) {
        try check(MPI_File_sync(handle.mpi), "MPI_File_sync")
    }

    package func setFileView(_ handle: FileHandle, displacement: Int, elementType: Datatype, fileType: Datatype) throws(MPIError) {
        let element = try DerivedDatatype.mpi(for: elementType)
        let tile = try DerivedDatatype.mpi(for: fileType)
        try check(
            MPI_File_set_view(handle.mpi, MPI_Offset(displacement), element, tile, "native", cmpi_info_null()),
            "MPI_File_set_view", "displacement \(displacement), elementary type \(elementType), file type \(fileType)")
    }

    package func fileAccess(
        _ handle: FileHandle, write: Bool, buffer: UnsafeMutableRawPointer?, count: Int, type: Datatype,
        position: FilePositioning, collective: Bool, request: Bool
    ) throws(MPIError) -> (status: Status?, request: RequestHandle?) {
        let wire = try WireType(count: count, element: type)
        defer { wire.release() }
        let file = handle.mpi
        let context = "\(count) \(type) elements"
        if request {
            let record = requestRecords.take(RequestRecord(
                request: nil, isSend: write, isPersistent: false, buffer: buffer, count: count, type: type,
                peer: Communicator.anySource, tag: Communicator.anyTag, comm: worldHandle, mode: .standard, wire: nil,
                isFile: true))
            let code: Int32
            let call: StaticString
            switch (position, collective, write) {
            case (.explicit(let offset), false, false):
                (code, call) = (MPI_File_iread_at(file, MPI_Offset(offset), buffer, wire.count, wire.datatype, &record.pointee.request), "MPI_File_iread_at")
            case (.explicit(let offset), false, true):
                (code, call) = (MPI_File_iwrite_at(file, MPI_Offset(offset), buffer, wire.count, wire.datatype, &record.pointee.request), "MPI_File_iwrite_at")
            case (.explicit(let offset), true, false):
                (code, call) = (MPI_File_iread_at_all(file, MPI_Offset(offset), buffer, wire.count, wire.datatype, &record.pointee.request), "MPI_File_iread_at_all")
            case (.explicit(let offset), true, true):
                (code, call) = (MPI_File_iwrite_at_all(file, MPI_Offset(offset), buffer, wire.count, wire.datatype, &record.pointee.request), "MPI_File_iwrite_at_all")
            case (.individual, false, false):
                (code, call) = (MPI_File_iread(file, buffer, wire.count, wire.datatype, &record.pointee.request), "MPI_File_iread")
            case (.individual, false, true):
                (code, call) = (MPI_File_iwrite(file, buffer, wire.count, wire.datatype, &record.pointee.request), "MPI_File_iwrite")
            case (.individual, true, false):
                (code, call) = (MPI_File_iread_all(file, buffer, wire.count, wire.datatype, &record.pointee.request), "MPI_File_iread_all")
            case (.individual, true, true):
                (code, call) = (MPI_File_iwrite_all(file, buffer, wire.count, wire.datatype, &record.pointee.request), "MPI_File_iwrite_all")
            case (.ordered, _, _):
                requestRecords.recycle(record)
                throw MPIError(.unsupported, "MPI has no immediate ordered file access")
            }
            guard code == MPI_SUCCESS else {
                requestRecords.recycle(record)
                throw mpiError(code: code, call: call, context: context)
            }
            return (nil, RequestHandle(record: record))
        }
        var status = MPI_Status()
        let code: Int32
        let call: StaticString
        switch (position, collective, write) {
        case (.explicit(let offset), false, false):
            (code, call) = (MPI_File_read_at(file, MPI_Offset(offset), buffer, wire.count, wire.datatype, &status), "MPI_File_read_at")
        case (.explicit(let offset), false, true):
            (code, call) = (MPI_File_write_at(file, MPI_Offset(offset), buffer, wire.count, wire.datatype, &status), "MPI_File_write_at")
        case (.explicit(let offset), true, false):
            (code, call) = (MPI_File_read_at_all(file, MPI_Offset(offset), buffer, wire.count, wire.datatype, &status), "MPI_File_read_at_all")
        case (.explicit(let offset), true, true):
            (code, call) = (MPI_File_write_at_all(file, MPI_Offset(offset), buffer, wire.count, wire.datatype, &status), "MPI_File_write_at_all")
        case (.individual, false, false):
            (code, call) = (MPI_File_read(file, buffer, wire.count, wire.datatype, &status), "MPI_File_read")
        case (.individual, false, true):
            (code, call) = (MPI_File_write(file, buffer, wire.count, wire.datatype, &status), "MPI_File_write")
        case (.individual, true, false):
            (code, call) = (MPI_File_read_all(file, buffer, wire.count, wire.datatype, &status), "MPI_File_read_all")
        case (.individual, true, true):
            (code, call) = (MPI_File_write_all(file, buffer, wire.count, wire.datatype, &status), "MPI_File_write_all")
        case (.ordered, _, false):
            (code, call) = (MPI_File_read_ordered(file, buffer, wire.count, wire.datatype, &status), "MPI_File_read_ordered")
        case (.ordered, _, true):
            (code, call) = (MPI_File_write_ordered(file, buffer, wire.count, wire.datatype, &status), "MPI_File_write_ordered")
        }
        try check(code, call, context)
        return (Status(source: Communicator.anySource, tag: Communicator.anyTag, byteCount: try elementCount(&status, cmpi_byte()) ?? 0), nil)
    }

    package func seekFile(_ handle: FileHandle, offset: Int, from origin: FileSeekOrigin, shared: Bool) throws(MPIError) {
        let whence: Int32 =
            switch origin {
            case .start: MPI_SEEK_SET
            case .current: MPI_SEEK_CUR
            case .end: MPI_SEEK_END
            }
        if shared {
            try check(MPI_File_seek_shared(handle.mpi, MPI_Offset(offset), whence), "MPI_File_seek_shared", "to \(offset) from \(origin)")
        } else {
            try check(MPI_File_seek(handle.mpi, MPI_Offset(offset), whence), "MPI_File_seek", "to \(offset) from \(origin)")
        }
    }

    package func filePosition(_ handle: FileHandle, shared: Bool) throws(MPIError) -> Int {
        var position: MPI_Offset = 0
        if shared {
            try check(MPI_File_get_position_shared(handle.mpi, &position), "MPI_File_get_position_shared")
        } else {
            try check(MPI_File_get_position(handle.mpi, &position), "MPI_File_get_position")
        }
        return Int(position)
    }

    package func fileByteOffset(_ handle: FileHandle, offset: Int) throws(MPIError) -> Int {
        var bytes: MPI_Offset = 0
        try check(MPI_File_get_byte_offset(handle.mpi, MPI_Offset(offset), &bytes), "MPI_File_get_byte_offset")
        return Int(bytes)
    }
}
#endif
