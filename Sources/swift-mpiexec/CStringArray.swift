import Glibc

/// A NULL-terminated array of C strings, the shape `posix_spawnp` wants for `argv` and `envp`,
/// owning its copies so they stay valid for the whole call.
final class CStringArray {
    private var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    deinit {
        for pointer in pointers { free(pointer) }
    }

    /// Lends the array to `body`; the pointers are valid only inside it.
    func withUnsafePointer<Result>(_ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result) -> Result {
        pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// The calling process's environment, `NAME=value` strings in their original order.
    static var currentEnvironment: [String] {
        var strings: [String] = []
        var entry = environ
        while let string = entry.pointee {
            strings.append(String(cString: string))
            entry += 1
        }
        return strings
    }
}
