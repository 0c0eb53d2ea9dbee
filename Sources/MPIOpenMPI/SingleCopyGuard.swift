#if OpenMPI
import CMPI
import MPICore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps Open MPI's shared-memory single-copy path from writing past a truncated receive.
///
/// Open MPI's ob1 PML sends a message above vader's eager limit (4 KiB with its header) by RGET:
/// the receiver reads the sender's buffer with one single-copy `get` (CMA, `process_vm_readv`)
/// of the *message's* length, `hdr_msg_length` in `mca_pml_ob1_recv_request_progress_rget`,
/// not the receive buffer's. A message larger than the receive buffer is reported as
/// `MPI_ERR_TRUNCATE` after its whole length was written, past the end of the buffer
/// (64,512 bytes past a 1 KiB buffer for a 64 KiB message). Reproduced in C on Open MPI 4.1.4;
/// the code is unchanged on the v4.1.x branch, in v5.0.x and on main, so no release fixes it.
///
/// The guard sets `OMPI_MCA_btl_vader_single_copy_mechanism=none` before `MPI_Init_thread`,
/// so vader copies large messages through its shared-memory fragments, where the convertor stops
/// at the receive buffer's end. It does so only for Open MPI before 5 (vader, the component
/// this parameter names; 5.0 moved single copy to the `smsc` framework, untested here), only
/// when neither that variable nor its `btl_sm` alias is set (an explicit choice wins), and not
/// when `SWIFTMPI_OPENMPI_CMA_GUARD=0`. Its cost is in docs/openmpi-backend.md.
///
/// Between hosts the same PML overruns through the TCP BTL's emulated RDMA `put`: a message of
/// 64 KiB or more (tcp's eager limit) into a smaller buffer is written whole, past its end
/// (4,096 bytes past a 60 KiB buffer; 4 bytes for 65,540 into 65,536), found on the simulated
/// cluster of scripts/cluster.sh. Without `put` in `btl_tcp_flags` ob1 pipelines large
/// messages with send/receive fragments, which stop at the buffer's end, so the guard also sets
/// `OMPI_MCA_btl_tcp_flags` to tcp's default flags without `put`, unless that variable is set.
///
/// A rank's messages to itself overrun the same way through the self BTL, whose `put` and `get`
/// are `memcpy`s of the message's length: a message above its 1 KiB eager limit into a smaller
/// receive posted before it is written whole (4,096 guard bytes after a 64-byte buffer
/// overwritten for 5,000, 100,000 and 4 MiB bytes; a C program, one rank, 4.1.4), found by the
/// `nb-objects` scenario at one rank (heap corruption). With `btl_self_flags=send,inplace`
/// nothing past the buffer is written and `MPI_ERR_TRUNCATE` is still reported, so the guard sets
/// `OMPI_MCA_btl_self_flags` to that unless it is set.
enum SingleCopyGuard {
    /// The MCA variable the guard sets and the alias it also respects.
    static let variable = "OMPI_MCA_btl_vader_single_copy_mechanism"
    static let alias = "OMPI_MCA_btl_sm_single_copy_mechanism"
    /// Setting it to `0` leaves single copy on (for a program that never truncates a receive).
    static let switchVariable = "SWIFTMPI_OPENMPI_CMA_GUARD"
    /// The TCP BTL's flags, and Open MPI 4.1's default for them without `put`.
    static let tcpFlagsVariable = "OMPI_MCA_btl_tcp_flags"
    static let tcpFlagsWithoutPut = "send,inplace,need-ack,need-csum,hetero-rdma"
    /// The self BTL's flags, and its default (`send,put,get,inplace`) without `put` and `get`.
    static let selfFlagsVariable = "OMPI_MCA_btl_self_flags"
    static let selfFlagsWithoutRDMA = "send,inplace"
    /// The one-sided components: without single copy and BTL `put`, Open MPI 4.1's `osc rdma`
    /// still wins the selection of `MPI_Win_create` windows and then fails it (`MPI_ERR_WIN`),
    /// and `osc ucx` silently skips compare-and-swap of 1-byte elements; `sm` (windows within a
    /// node) and `pt2pt` (the rest, over the PML) pass every one-sided scenario.
    static let oscVariable = "OMPI_MCA_osc"
    static let oscWithoutRDMA = "sm,pt2pt"

    /// Sets the MCA variables when the guard applies; call before `MPI_Init_thread`.
    static func applyBeforeInit() {
        if let value = getenv(switchVariable), String(cString: value) == "0" { return }
        guard let major = openMPIMajorVersion(), major < 5 else { return }
        if getenv(variable) == nil && getenv(alias) == nil { setenv(variable, "none", 0) }
        setenv(tcpFlagsVariable, tcpFlagsWithoutPut, 0)
        setenv(selfFlagsVariable, selfFlagsWithoutRDMA, 0)
        setenv(oscVariable, oscWithoutRDMA, 0)
    }

    /// The major version of the Open MPI library, from `MPI_Get_library_version`, which MPI
    /// allows before initialization ("Open MPI v4.1.4, package: …"); `nil` if it is not Open MPI.
    static func openMPIMajorVersion() -> Int? {
        var characters = [CChar](repeating: 0, count: Int(cmpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        guard MPI_Get_library_version(&characters, &length) == MPI_SUCCESS else { return nil }
        let text = String(decoding: characters.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let prefix = "Open MPI v"
        guard text.hasPrefix(prefix) else { return nil }
        return Int(text.dropFirst(prefix.count).prefix { $0.isNumber })
    }
}
#endif
