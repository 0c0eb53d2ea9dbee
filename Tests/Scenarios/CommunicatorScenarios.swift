import MPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let communicatorScenarios: [Scenario] = [
    Scenario("split") { c in
        // By parity, ordered by descending world rank.
        guard let half = try c.world.split(color: c.rank % 2, key: -c.rank) else {
            throw ScenarioFailure("split with a color returned nil")
        }
        let members = (0..<c.size).filter { $0 % 2 == c.rank % 2 }.sorted(by: >)
        try expect(half.size == members.count, "parity half has size \(half.size), expected \(members.count)")
        try expect(half.rank == members.firstIndex(of: c.rank), "parity half rank \(half.rank), expected \(members.firstIndex(of: c.rank)!)")
        try ringTraffic(on: half, members: members, what: "parity half")

        // Every third rank stays out (undefined color); the rest keep their world order.
        let outside = c.rank % 3 == 2
        let part = try c.world.split(color: outside ? nil : 0, key: c.rank)
        if outside {
            try expect(part == nil, "split with a nil color returned a communicator")
        } else {
            guard let part else { throw ScenarioFailure("split with color 0 returned nil") }
            let members = (0..<c.size).filter { $0 % 3 != 2 }
            try expect(part.size == members.count && part.rank == members.firstIndex(of: c.rank), "partial split gave rank \(part.rank) of \(part.size)")
            try ringTraffic(on: part, members: members, what: "partial split")
        }
        return .passed
    },

    Scenario("compare") { c in
        try expect(try c.world.compare(c.world) == .identical, "world vs world")
        let dup = try c.world.duplicate()
        try expect(try c.world.compare(dup) == .congruent, "world vs its duplicate")
        try expect(try dup.compare(try dup.duplicate()) == .congruent, "duplicate vs its duplicate")
        guard let reversed = try c.world.split(color: 0, key: -c.rank) else { throw ScenarioFailure("split with color 0 returned nil") }
        let reversedExpected: CommunicatorComparison = c.size > 1 ? .similar : .congruent
        try expect(try c.world.compare(reversed) == reversedExpected, "world vs world reversed: expected \(reversedExpected)")
        guard let half = try c.world.split(color: c.rank % 2) else { throw ScenarioFailure("parity split returned nil") }
        let halfExpected: CommunicatorComparison = c.size > 1 ? .unequal : .congruent
        try expect(try c.world.compare(half) == halfExpected, "world vs parity half: expected \(halfExpected)")
        let solo = try Communicator.solo
        try expect(solo.rank == 0 && solo.size == 1, "solo is rank \(solo.rank) of \(solo.size)")
        try expect(try c.world.compare(solo) == halfExpected, "world vs solo: expected \(halfExpected)")
        try expect(try solo.compare(solo) == .identical, "solo vs solo")
        return .passed
    },

    Scenario("dup-isolation") { c in
        let dup = try c.world.duplicate()
        try expect(dup.rank == c.rank && dup.size == c.size, "duplicate has rank \(dup.rank) of \(dup.size)")
        for wildcard in [false, true] {
            try c.ringStep {
                try dup.send(111 + c.rank, to: c.next, tag: 5)
                try c.world.send(222 + c.rank, to: c.next, tag: 5)
            } receive: {
                let (source, tag) = wildcard ? (Communicator.anySource, Communicator.anyTag) : (c.previous, 5)
                // Opposite order: the world receive must not match the message sent first on the duplicate.
                let fromWorld = try c.world.receive(Int.self, from: source, tag: tag)
                try expect(fromWorld == 222 + c.previous, "world receive got \(fromWorld): a message crossed from the duplicate")
                let fromDup = try dup.receive(Int.self, from: source, tag: tag)
                try expect(fromDup == 111 + c.previous, "duplicate receive got \(fromDup)")
            }
        }
        return .passed
    },

    Scenario("dup-immediate-and-hints") { c in
        // MPI_Comm_dup_with_info: the hints reach Open MPI; the duplicate is congruent.
        let hinted = try c.world.duplicate(hints: ["mpi_assert_no_any_tag": "true", "mpi_assert_allow_overtaking": "false"])
        try expect(try c.world.compare(hinted) == .congruent, "a duplicate with hints is congruent to the world")
        // MPI_Comm_idup: two started at once, a blocking collective between, waited in the
        // other order; each result is a communicator of its own.
        var first = try c.world.immediateDuplicate()
        var second = try hinted.immediateDuplicate()
        try expect(try c.world.allReduce(1, op: .sum) == c.size, "a collective on the parent while a duplication is pending")
        while try !second.test() {}
        let b = try second.wait()
        let a = try first.wait()
        try expect(a.rank == c.rank && a.size == c.size && b.size == c.size, "idup results: rank \(a.rank) of \(a.size), \(b.size)")
        try expect(try c.world.compare(a) == .congruent && (try a.compare(b)) == .congruent, "idup results are congruent duplicates")
        try c.ringStep {
            try a.send(1000 + c.rank, to: c.next, tag: 6)
            try b.send(2000 + c.rank, to: c.next, tag: 6)
            try c.world.send(3000 + c.rank, to: c.next, tag: 6)
        } receive: {
            try expect(try c.world.receive(Int.self, from: Communicator.anySource, tag: Communicator.anyTag) == 3000 + c.previous, "world message crossed")
            try expect(try b.receive(Int.self, from: Communicator.anySource, tag: Communicator.anyTag) == 2000 + c.previous, "second idup's message crossed")
            try expect(try a.receive(Int.self, from: Communicator.anySource, tag: Communicator.anyTag) == 1000 + c.previous, "first idup's message crossed")
        }
        try expect(try a.allReduce(c.rank, op: .max) == c.size - 1, "a collective on an idup result")
        // An idup of an idup, awaited.
        var nested = try a.immediateDuplicate()
        let inner = try nested.wait()
        try expect(try inner.allReduce(1, op: .sum) == c.size, "a collective on a nested idup")
        return .passed
    },

    Scenario("comm-free-on-drop") { c in
        for i in 0..<1000 {
            let dup = try c.world.duplicate()
            if i % 100 == 0 {
                var token = [-1]
                try dup.sendReceive([i + c.rank], to: c.next, into: &token, from: c.previous)
                try expect(token == [i + c.previous], "traffic on duplicate \(i) got \(token)")
            }
        }
        return .passed
    },

    // The ranks of one node are those with one processor name; with SWIFTMPI_TEST_EXPECT_HOSTS
    // set (the simulated cluster of scripts/cluster.sh) the job must span that many hosts. Then
    // the hierarchical all-reduce of training jobs — reduce on each node, all-reduce among node
    // leaders, broadcast on each node — must equal the flat one.
    Scenario("nodes-hierarchical") { c in
        let name = try Environment.processorName()
        let names = try c.world.allGather(object: name)
        let hosts = Set(names)
        if let expected = getenv("SWIFTMPI_TEST_EXPECT_HOSTS").flatMap({ Int(String(cString: $0)) }) {
            try expect(hosts.count == min(expected, c.size), "the job spans \(hosts.count) hosts (\(hosts.sorted())), expected \(min(expected, c.size))")
        }
        let node = try c.world.splitByNode()
        let nodeNames = try node.allGather(object: name)
        try expect(Set(nodeNames) == [name], "splitByNode put ranks of hosts \(Set(nodeNames).sorted()) together")
        try expect(node.size == names.filter { $0 == name }.count, "node communicator of \(node.size) ranks, but \(names.filter { $0 == name }.count) ranks run on \(name)")
        // One leader per node: as many leaders as hosts.
        let leaders = try c.world.split(color: node.rank == 0 ? 0 : nil, key: c.rank)
        let leaderCount = try node.broadcast(leaders?.size ?? 0, root: 0)
        try expect(leaderCount == hosts.count, "\(leaderCount) node leaders for \(hosts.count) hosts")

        let values = (0..<1000).map { Double(c.rank * 1000 + $0) }
        let flat = try c.world.allReduce(values, op: .sum)
        let onNode = try node.reduce(values, op: .sum, root: 0)
        var hierarchical = [Double](repeating: 0, count: values.count)
        if let leaders, let onNode { hierarchical = try leaders.allReduce(onNode, op: .sum) }
        try node.broadcast(&hierarchical, root: 0)
        try expect(hierarchical == flat, "hierarchical all-reduce differs from the flat one (first: \(hierarchical.first ?? .nan) vs \(flat.first ?? .nan))")

        // Odd world ranks stay out (MPI_Comm_split_type with MPI_UNDEFINED); the even ones of
        // each node get a node communicator of themselves.
        let evens = try c.world.splitByNode(key: c.rank, joining: c.rank % 2 == 0)
        try expect((evens != nil) == (c.rank % 2 == 0), "splitByNode(joining:) gave \(evens.map { "a communicator of \($0.size)" } ?? "nil") to world rank \(c.rank)")
        let evenRanksHere = (0..<c.size).filter { $0 % 2 == 0 && names[$0] == name }
        if let evens {
            let members = try evens.allGather(c.rank)
            try expect(members == evenRanksHere, "even ranks on \(name): \(members), expected \(evenRanksHere)")
        }
        return .passed
    },

    // Names (MPI_Comm_get_name / MPI_Comm_set_name): the predefined ones, empty for new
    // communicators, not inherited, settable and local.
    Scenario("communicator-names") { c in
        let soloName = try Communicator.solo.name
        try expect(c.world.name == "MPI_COMM_WORLD" && soloName == "MPI_COMM_SELF", "predefined names \(c.world.name), \(soloName)")
        let copy = try c.world.duplicate()
        try expect(copy.name == "", "a duplicate is named \(copy.name)")
        copy.name = "halo exchange of rank \(c.rank) ✓"
        try expect(copy.name == "halo exchange of rank \(c.rank) ✓", "name after setting: \(copy.name)")
        let long = String(repeating: "λ", count: 100)
        copy.name = long
        try expect(copy.name == long, "a long name is kept whole by the binding")
        let child = try copy.duplicate()
        try expect(child.name == "" && c.world.name == "MPI_COMM_WORLD", "names leaked: \(child.name), \(c.world.name)")
        try copy.barrier()
        return .passed
    },
]

/// Shifts each member's world rank one step along `comm`'s ring and checks what arrives;
/// `members` lists the world ranks in `comm` rank order.
private func ringTraffic(on comm: Communicator, members: [Int], what: String) throws {
    let next = (comm.rank + 1) % comm.size
    let previous = (comm.rank + comm.size - 1) % comm.size
    var received = [-1]
    let me = members[comm.rank]
    let status = try comm.sendReceive([me], to: next, sendTag: 3, into: &received, from: previous, receiveTag: 3)
    try expect(received == [members[previous]], "\(what): rank \(comm.rank) received \(received), expected world rank \(members[previous])")
    try expect(status.source == previous, "\(what): status source \(status.source), expected \(previous)")
    try comm.barrier()
}

/// Groups and communicators made from them: `create(group:)` (collective over the parent) and
/// `createGroup` (collective over the group alone, two at once with different tags).
let groupScenarios: [Scenario] = [
    Scenario("groups") { c in
        let world = try c.world.group
        try expect(world.worldRanks == Array(0..<c.size) && world.rank == c.rank && world.size == c.size, "world group \(world)")
        let evens = try world.including(ranges: [stride(from: 0, through: c.size - 1, by: 2)])
        let odds = world.difference(evens)
        try expect(evens.union(odds).compare(world) == (c.size > 2 ? .similar : .identical), "evens ∪ odds vs the world")

        // create(group:): every rank calls it; non-members get nil.
        let even = try c.world.create(group: evens)
        try expect((even != nil) == (c.rank % 2 == 0), "create(group:) gave \(even.map { "\($0.size) ranks" } ?? "nil") to rank \(c.rank)")
        if let even {
            try expect(even.rank == c.rank / 2 && even.size == evens.size, "even communicator rank \(even.rank) of \(even.size)")
            let sum = try even.allReduce(c.rank, op: .sum)
            try expect(sum == evens.worldRanks.reduce(0, +), "sum over the even communicator \(sum)")
            try expect(try even.group == evens, "the even communicator's group")
        }

        // createGroup: only the members call it; evens and odds at the same time, different tags.
        let mine = c.rank % 2 == 0 ? evens : odds
        let part = try c.world.createGroup(mine, tag: c.rank % 2 == 0 ? 8 : 9)
        try expect(part.size == mine.size && part.rank == mine.rank, "createGroup rank \(part.rank) of \(part.size)")
        let gathered = try part.allGather([c.rank])
        try expect(gathered == mine.worldRanks, "allGather over createGroup's communicator \(gathered)")

        // A reversed group: ranks reversed, similar to the world.
        let reversed = try world.including(Array((0..<c.size).reversed()))
        let backwards = try c.world.createGroup(reversed, tag: 10)
        try expect(backwards.rank == c.size - 1 - c.rank, "reversed communicator rank \(backwards.rank)")
        try expect(try c.world.compare(backwards) == (c.size > 1 ? .similar : .congruent), "world vs reversed communicator")
        try expect(try reversed.translate([0], to: world) == [c.size - 1], "translate rank 0 of the reversed group")

        try expectError(.group, "createGroup by a process outside the group") {
            _ = try c.world.createGroup(world.excluding([c.rank]), tag: 11)
        }
        try c.world.barrier()
        return .passed
    },
]
