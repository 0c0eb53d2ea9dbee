// Groups (MPI-4.1 §7.3): ordered sets of processes, and communicators made from them.
//
// A group is a value here: the world ranks of its members in group order. Its operations are the
// same on every backend (pure set arithmetic with MPI's ordering rules), so they are written once;
// only making a communicator from a group reaches the backend.

/// How two groups relate (`MPI_Group_compare`).
public enum GroupComparison: Sendable, Equatable {
    /// The same members in the same order (`MPI_IDENT`).
    case identical
    /// The same members in another order (`MPI_SIMILAR`).
    case similar
    /// Different members (`MPI_UNEQUAL`).
    case unequal
}

/// An ordered set of processes of the job (`MPI_Group`): a communicator's ``Communicator/group``,
/// or one made from others. A rank in a group is a position in it, from 0.
public struct Group: Hashable, Sendable, CustomStringConvertible {
    /// The world rank of each member, in group order.
    public let worldRanks: [Int]
    /// This process's world rank, to say its rank in the group.
    @usableFromInline let ownWorldRank: Int

    @usableFromInline
    init(worldRanks: [Int], ownWorldRank: Int) {
        self.worldRanks = worldRanks
        self.ownWorldRank = ownWorldRank
    }

    /// The group with no members (`MPI_GROUP_EMPTY`).
    public static let empty = Group(worldRanks: [], ownWorldRank: -1)

    /// Members of the group (`MPI_Group_size`).
    public var size: Int { worldRanks.count }

    /// This process's rank in the group, or `nil` if it is not a member (`MPI_Group_rank`,
    /// `MPI_UNDEFINED`).
    public var rank: Int? { worldRanks.firstIndex(of: ownWorldRank) }

    public static func == (a: Group, b: Group) -> Bool { a.worldRanks == b.worldRanks }
    public func hash(into hasher: inout Hasher) { hasher.combine(worldRanks) }

    public var description: String { "Group(world ranks \(worldRanks))" }

    /// The ranks in `other` of the members at `ranks` here, `nil` for those not in `other`
    /// (`MPI_Group_translate_ranks`; ``Communicator/nullProcess`` stays itself).
    public func translate(_ ranks: [Int], to other: Group) throws(MPIError) -> [Int?] {
        var result: [Int?] = []
        result.reserveCapacity(ranks.count)
        for rank in ranks {
            if rank == Communicator.nullProcess {
                result.append(Communicator.nullProcess)
                continue
            }
            try checkRank(rank, "translate")
            result.append(other.worldRanks.firstIndex(of: worldRanks[rank]))
        }
        return result
    }

    /// Whether `other` has the same members, in the same order (`MPI_Group_compare`).
    public func compare(_ other: Group) -> GroupComparison {
        if worldRanks == other.worldRanks { return .identical }
        if worldRanks.sorted() == other.worldRanks.sorted() { return .similar }
        return .unequal
    }

    /// The members at `ranks`, in that order (`MPI_Group_incl`). The ranks must be distinct.
    public func including(_ ranks: [Int]) throws(MPIError) -> Group {
        try checkDistinct(ranks, "including")
        return Group(worldRanks: ranks.map { worldRanks[$0] }, ownWorldRank: ownWorldRank)
    }

    /// The members except those at `ranks`, in group order (`MPI_Group_excl`).
    public func excluding(_ ranks: [Int]) throws(MPIError) -> Group {
        try checkDistinct(ranks, "excluding")
        let left = Set(ranks)
        return Group(worldRanks: worldRanks.indices.filter { !left.contains($0) }.map { worldRanks[$0] }, ownWorldRank: ownWorldRank)
    }

    /// The members at the ranks of `ranges`, range by range (`MPI_Group_range_incl`):
    /// `stride(from: 0, through: 6, by: 2)` is ranks 0, 2, 4, 6.
    public func including(ranges: [StrideThrough<Int>]) throws(MPIError) -> Group {
        try including(ranges.flatMap { Array($0) })
    }

    /// The members except those at the ranks of `ranges` (`MPI_Group_range_excl`).
    public func excluding(ranges: [StrideThrough<Int>]) throws(MPIError) -> Group {
        try excluding(ranges.flatMap { Array($0) })
    }

    /// The members of this group, then those of `other` not in it (`MPI_Group_union`).
    public func union(_ other: Group) -> Group {
        let mine = Set(worldRanks)
        return Group(worldRanks: worldRanks + other.worldRanks.filter { !mine.contains($0) }, ownWorldRank: ownWorldRank)
    }

    /// The members of this group that are also in `other`, in this group's order
    /// (`MPI_Group_intersection`).
    public func intersection(_ other: Group) -> Group {
        let theirs = Set(other.worldRanks)
        return Group(worldRanks: worldRanks.filter { theirs.contains($0) }, ownWorldRank: ownWorldRank)
    }

    /// The members of this group that are not in `other`, in this group's order
    /// (`MPI_Group_difference`).
    public func difference(_ other: Group) -> Group {
        let theirs = Set(other.worldRanks)
        return Group(worldRanks: worldRanks.filter { !theirs.contains($0) }, ownWorldRank: ownWorldRank)
    }

    private func checkRank(_ rank: Int, _ operation: String) throws(MPIError) {
        guard rank >= 0 && rank < size else {
            throw MPIError(.rank, "\(operation): rank \(rank) is not in a group of \(size)")
        }
    }

    private func checkDistinct(_ ranks: [Int], _ operation: String) throws(MPIError) {
        var seen = Set<Int>()
        for rank in ranks {
            try checkRank(rank, operation)
            guard seen.insert(rank).inserted else {
                throw MPIError(.rank, "\(operation): rank \(rank) is named twice")
            }
        }
    }
}

extension Communicator {
    /// The group of this communicator's processes, in rank order (`MPI_Comm_group`).
    public var group: Group {
        get throws(MPIError) {
            try checkActive()
            return Group(worldRanks: try backend.worldRanks(of: handle), ownWorldRank: try Communicator.world.rank)
        }
    }

    /// A communicator of the processes of `group`, ranked in group order; `nil` on processes
    /// not in it (`MPI_Comm_create`). Collective over this communicator: every process passes the
    /// same group, a subset of this communicator's.
    public func create(group: Group) throws(MPIError) -> Communicator? {
        try checkActive()
        try checkInside(group, "create(group:)")
        return try split(color: group.rank == nil ? nil : 0, key: group.rank ?? 0)
    }

    /// A communicator of the processes of `group`, ranked in group order (`MPI_Comm_create_group`):
    /// collective over the group's processes only, so the others need not take part. Concurrent
    /// calls on one communicator need distinct `tag`s.
    ///
    /// - Throws: `MPIError(.group)` when this process is not in `group`, or the group has
    ///   processes outside this communicator.
    public func createGroup(_ group: Group, tag: Int = 0) throws(MPIError) -> Communicator {
        try checkActive()
        guard group.rank != nil else {
            throw MPIError(.group, "createGroup: this process (world rank \(group.ownWorldRank)) is not in the group \(group.worldRanks)")
        }
        try checkInside(group, "createGroup")
        guard tag >= 0 else { throw MPIError(.tag, "createGroup: tag \(tag) is negative") }
        let created = try backend.createGroup(handle, worldRanks: group.worldRanks, tag: tag)
        return Communicator(
            backend: backend, handle: created, rank: backend.rank(of: created), size: backend.size(of: created), predefined: false)
    }

    /// Throws unless every process of `group` belongs to this communicator.
    private func checkInside(_ group: Group, _ operation: String) throws(MPIError) {
        let mine = Set(try backend.worldRanks(of: handle))
        let outside = group.worldRanks.filter { !mine.contains($0) }
        guard outside.isEmpty else {
            throw MPIError(.group, "\(operation): the group has processes outside this communicator (world ranks \(outside))")
        }
    }
}
