/// An error from an MPI operation: its error class, the implementation's error code and a
/// message that says what went wrong.
///
/// Every MPI call of every backend returns through one checking function that turns a failure
/// into an `MPIError`; communicators are set to return errors rather than abort, so a failed
/// call throws and the program can go on.
public struct MPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The error class: the portable part of an MPI error (`MPI_Error_class`).
    public struct ErrorClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int
        @inlinable public init(rawValue: Int) { self.rawValue = rawValue }

        /// Invalid buffer pointer (`MPI_ERR_BUFFER`).
        public static let buffer = ErrorClass(rawValue: 1)
        /// Invalid count argument (`MPI_ERR_COUNT`).
        public static let count = ErrorClass(rawValue: 2)
        /// Invalid datatype (`MPI_ERR_TYPE`).
        public static let type = ErrorClass(rawValue: 3)
        /// Invalid tag (`MPI_ERR_TAG`).
        public static let tag = ErrorClass(rawValue: 4)
        /// Invalid communicator (`MPI_ERR_COMM`).
        public static let communicator = ErrorClass(rawValue: 5)
        /// Invalid rank (`MPI_ERR_RANK`).
        public static let rank = ErrorClass(rawValue: 6)
        /// Invalid request (`MPI_ERR_REQUEST`).
        public static let request = ErrorClass(rawValue: 7)
        /// Invalid root (`MPI_ERR_ROOT`).
        public static let root = ErrorClass(rawValue: 8)
        /// Invalid group (`MPI_ERR_GROUP`).
        public static let group = ErrorClass(rawValue: 9)
        /// Invalid operation (`MPI_ERR_OP`).
        public static let operation = ErrorClass(rawValue: 10)
        /// Invalid topology (`MPI_ERR_TOPOLOGY`).
        public static let topology = ErrorClass(rawValue: 11)
        /// Invalid dimension argument (`MPI_ERR_DIMS`).
        public static let dimensions = ErrorClass(rawValue: 12)
        /// Invalid argument of some other kind (`MPI_ERR_ARG`).
        public static let argument = ErrorClass(rawValue: 13)
        /// Unknown error (`MPI_ERR_UNKNOWN`).
        public static let unknown = ErrorClass(rawValue: 14)
        /// Message truncated on receive (`MPI_ERR_TRUNCATE`).
        public static let truncate = ErrorClass(rawValue: 15)
        /// Known error not in this list (`MPI_ERR_OTHER`).
        public static let other = ErrorClass(rawValue: 16)
        /// Internal error in the implementation (`MPI_ERR_INTERN`).
        public static let intern = ErrorClass(rawValue: 17)
        /// Out of memory (`MPI_ERR_NO_MEM`).
        public static let noMemory = ErrorClass(rawValue: 39)
        /// Collective arguments differ between ranks (`MPI_ERR_NOT_SAME`).
        public static let notSame = ErrorClass(rawValue: 40)
        /// Operation not supported by this backend (`MPI_ERR_UNSUPPORTED_OPERATION`).
        public static let unsupported = ErrorClass(rawValue: 52)

        // One-sided communication (values as Open MPI 4.1 numbers them).
        /// Invalid window (`MPI_ERR_WIN`): freed, or created with arguments that differ between ranks.
        public static let window = ErrorClass(rawValue: 53)
        /// A one-sided call outside the epoch it needs, or an epoch opened or closed wrongly
        /// (`MPI_ERR_RMA_SYNC`).
        public static let rmaSync = ErrorClass(rawValue: 47)
        /// A target access beyond the target's window (`MPI_ERR_RMA_RANGE`).
        public static let rmaRange = ErrorClass(rawValue: 68)
        /// Conflicting accesses to a window (`MPI_ERR_RMA_CONFLICT`).
        public static let rmaConflict = ErrorClass(rawValue: 46)
        /// Memory that cannot be shared, or a shared-window query on a window that is not shared
        /// (`MPI_ERR_RMA_SHARED`).
        public static let rmaShared = ErrorClass(rawValue: 71)
        /// Invalid lock type (`MPI_ERR_LOCKTYPE`).
        public static let lockType = ErrorClass(rawValue: 37)
        /// Invalid assertion (`MPI_ERR_ASSERT`).
        public static let assertion = ErrorClass(rawValue: 22)
        /// Invalid displacement (`MPI_ERR_DISP`).
        public static let displacement = ErrorClass(rawValue: 26)

        // I/O (values as Open MPI 4.1 numbers them).
        /// Permission denied, or an access the file's mode does not allow (`MPI_ERR_ACCESS`).
        public static let access = ErrorClass(rawValue: 20)
        /// Invalid access mode (`MPI_ERR_AMODE`).
        public static let accessMode = ErrorClass(rawValue: 21)
        /// Invalid file name, e.g. too long or a directory (`MPI_ERR_BAD_FILE`).
        public static let badFile = ErrorClass(rawValue: 23)
        /// An exclusive create of a file that exists (`MPI_ERR_FILE_EXISTS`).
        public static let fileExists = ErrorClass(rawValue: 28)
        /// A file that cannot be deleted because it is open (`MPI_ERR_FILE_IN_USE`).
        public static let fileInUse = ErrorClass(rawValue: 29)
        /// Invalid file handle: closed, or used after close (`MPI_ERR_FILE`).
        public static let file = ErrorClass(rawValue: 30)
        /// Another I/O error (`MPI_ERR_IO`).
        public static let io = ErrorClass(rawValue: 35)
        /// No space left on the device (`MPI_ERR_NO_SPACE`).
        public static let noSpace = ErrorClass(rawValue: 41)
        /// The file does not exist (`MPI_ERR_NO_SUCH_FILE`).
        public static let noSuchFile = ErrorClass(rawValue: 42)
        /// Quota exceeded (`MPI_ERR_QUOTA`).
        public static let quota = ErrorClass(rawValue: 44)
        /// A write to a file opened read-only, or on a read-only file system (`MPI_ERR_READ_ONLY`).
        public static let readOnly = ErrorClass(rawValue: 45)

        /// A call was made before `Environment.initialize()` (swift-mpi's own class).
        public static let notInitialized = ErrorClass(rawValue: 1001)
        /// A call was made after `Environment.finalize()` (swift-mpi's own class).
        public static let finalized = ErrorClass(rawValue: 1002)
        /// Another rank of the job died or the job was aborted (swift-mpi's own class).
        public static let processFailed = ErrorClass(rawValue: 1003)
        /// The shared-memory job segment is missing, stale or foreign (swift-mpi's own class).
        public static let segment = ErrorClass(rawValue: 1004)

        public var description: String {
            switch self {
            case .buffer: "buffer"
            case .count: "count"
            case .type: "type"
            case .tag: "tag"
            case .communicator: "communicator"
            case .rank: "rank"
            case .request: "request"
            case .root: "root"
            case .group: "group"
            case .operation: "operation"
            case .topology: "topology"
            case .dimensions: "dimensions"
            case .argument: "argument"
            case .unknown: "unknown"
            case .truncate: "truncate"
            case .other: "other"
            case .intern: "internal"
            case .noMemory: "no memory"
            case .notSame: "not same"
            case .unsupported: "unsupported"
            case .notInitialized: "not initialized"
            case .finalized: "finalized"
            case .processFailed: "process failed"
            case .segment: "segment"
            case .window: "window"
            case .rmaSync: "RMA synchronization"
            case .rmaRange: "RMA range"
            case .rmaConflict: "RMA conflict"
            case .rmaShared: "RMA shared"
            case .lockType: "lock type"
            case .assertion: "assertion"
            case .displacement: "displacement"
            case .access: "access"
            case .accessMode: "access mode"
            case .badFile: "bad file"
            case .fileExists: "file exists"
            case .fileInUse: "file in use"
            case .file: "file"
            case .io: "I/O"
            case .noSpace: "no space"
            case .noSuchFile: "no such file"
            case .quota: "quota"
            case .readOnly: "read-only"
            default: "class \(rawValue)"
            }
        }
    }

    /// The error class.
    public let errorClass: ErrorClass
    /// The backend's error code (equal to the class value for errors swift-mpi raises itself).
    public let code: Int
    /// What went wrong, with the values involved.
    public let message: String

    public init(_ errorClass: ErrorClass, code: Int? = nil, _ message: String) {
        self.errorClass = errorClass
        self.code = code ?? errorClass.rawValue
        self.message = message
    }

    public var description: String { "MPIError(\(errorClass)): \(message)" }
}
