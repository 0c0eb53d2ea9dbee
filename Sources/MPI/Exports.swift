@_exported import MPICore
