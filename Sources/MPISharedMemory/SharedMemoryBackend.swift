import MPICore

/// Bootstrap placeholder while the backend is written; replaced before landing.
package final class SharedMemoryBackend {
    package static func start(threadLevel: ThreadLevel) throws(MPIError) -> any Backend {
        throw MPIError(.unsupported, "shared-memory backend under construction")
    }
}
