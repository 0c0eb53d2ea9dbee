@_exported import MPICore
@_exported import MPIBinaryCoding
