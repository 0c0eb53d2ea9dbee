/// How a reduction combines the values of the ranks (`MPI_Op`), for elements of type `Element`.
///
/// The predefined operations are available where they mean something: `.sum`, `.product`,
/// `.min` and `.max` on integers and floating-point types (`Float16` included); the logical
/// operations on integers and `Bool`; the bitwise ones on integers; `.minLoc` and `.maxLoc` on
/// ``ValueIndex`` pairs. Anything else is a user-defined operation written in Swift
/// (``custom(commutative:_:)``, ``custom(commutative:vector:)``), which works on every
/// element type, structs included, on both backends.
///
/// Integer sums and products wrap around on overflow, as MPI's C operations do.
public struct ReductionOp<Element: MessageElement>: Sendable, CustomStringConvertible {
    @usableFromInline package let reduction: Reduction

    @inlinable
    init(_ builtin: Reduction.Builtin, _ kernel: @escaping Reduction.Kernel) {
        reduction = Reduction(builtin: builtin, isCommutative: true, kernel: kernel)
    }

    /// Whether the operation may combine operands in any order. Non-commutative operations are
    /// applied in rank order: `x₀ ∘ x₁ ∘ … ∘ xₙ₋₁` (they must still be associative).
    public var isCommutative: Bool { reduction.isCommutative }

    /// A user-defined operation on single values: `combine(a, b)` is `a ∘ b`, where `a` comes
    /// from lower ranks than `b` (`MPI_Op_create`).
    @inlinable
    public static func custom(
        commutative: Bool = false, _ combine: @escaping @Sendable (Element, Element) -> Element
    ) -> ReductionOp {
        ReductionOp(reduction: Reduction(builtin: nil, isCommutative: commutative) { input, output, count in
            combineElements(input, output, count, combine)
        })
    }

    /// A user-defined operation on whole vectors, MPI's user-function contract: set
    /// `inputOutput[i] = input[i] ∘ inputOutput[i]` for every `i`, where `input` holds values from lower
    /// ranks (`MPI_Op_create`). It may be called on pieces of the vectors.
    @inlinable
    public static func custom(
        commutative: Bool = false,
        vector combine: @escaping @Sendable (_ input: UnsafeBufferPointer<Element>, _ inputOutput: UnsafeMutableBufferPointer<Element>) -> Void
    ) -> ReductionOp {
        ReductionOp(reduction: Reduction(builtin: nil, isCommutative: commutative) { input, output, count in
            combine(
                UnsafeBufferPointer(start: input.assumingMemoryBound(to: Element.self), count: count),
                UnsafeMutableBufferPointer(start: output.assumingMemoryBound(to: Element.self), count: count))
        })
    }

    @inlinable
    init(reduction: Reduction) { self.reduction = reduction }

    public var description: String {
        reduction.builtin.map { "\($0)" } ?? "custom(\(isCommutative ? "commutative" : "non-commutative"))"
    }
}

extension ReductionOp {
    /// `MPI_REPLACE`: the incoming operand replaces the one already there, `a ∘ b = a`. In a
    /// `reduceLocal` the input replaces the output; in a collective, which folds in rank order,
    /// the result is rank 0's value. (MPI's accumulate operation of one-sided communication;
    /// offered for every element type, like MPI's.)
    @inlinable public static var replace: ReductionOp {
        ReductionOp(reduction: Reduction(builtin: .replace, isCommutative: false) { input, output, count in
            combineElements(input, output, count) { (a: Element, _) in a }
        })
    }

    /// `MPI_NO_OP`: leaves the operand already there, `a ∘ b = b`. In a `reduceLocal` the output
    /// stays as it is; in a collective the result is the last rank's value.
    @inlinable public static var noOp: ReductionOp {
        ReductionOp(reduction: Reduction(builtin: .noOp, isCommutative: false) { _, _, _ in })
    }
}

/// Applies `combine` element by element: `output[i] = combine(input[i], output[i])`.
@inlinable @inline(__always)
func combineElements<T>(
    _ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer, _ count: Int, _ combine: (T, T) -> T
) {
    let left = input.assumingMemoryBound(to: T.self)
    let right = output.assumingMemoryBound(to: T.self)
    var index = 0
    while index < count {
        right[index] = combine(left[index], right[index])
        index &+= 1
    }
}

/// The element types MPI's arithmetic reductions apply to — the integers and floating-point types
/// — and the one place `.sum`, `.product`, `.min` and `.max` live, so generic code over numeric
/// elements can name them:
///
/// ```swift
/// func total<T: ArithmeticMessageElement>(_ values: [T], on world: Communicator) throws -> [T] {
///     try world.allReduce(values, op: .sum)
/// }
/// ```
public protocol ArithmeticMessageElement: MessageElement, Comparable {
    /// `a + b` as `MPI_SUM` computes it: wrapping on overflow for integers.
    static func reductionSum(_ a: Self, _ b: Self) -> Self
    /// `a × b` as `MPI_PROD` computes it: wrapping on overflow for integers.
    static func reductionProduct(_ a: Self, _ b: Self) -> Self
}

extension ArithmeticMessageElement where Self: FixedWidthInteger {
    @inlinable @inline(__always) public static func reductionSum(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inlinable @inline(__always) public static func reductionProduct(_ a: Self, _ b: Self) -> Self { a &* b }
}

extension ArithmeticMessageElement where Self: BinaryFloatingPoint {
    @inlinable @inline(__always) public static func reductionSum(_ a: Self, _ b: Self) -> Self { a + b }
    @inlinable @inline(__always) public static func reductionProduct(_ a: Self, _ b: Self) -> Self { a * b }
}

extension Int8: ArithmeticMessageElement {}
extension Int16: ArithmeticMessageElement {}
extension Int32: ArithmeticMessageElement {}
extension Int64: ArithmeticMessageElement {}
extension Int: ArithmeticMessageElement {}
extension UInt8: ArithmeticMessageElement {}
extension UInt16: ArithmeticMessageElement {}
extension UInt32: ArithmeticMessageElement {}
extension UInt64: ArithmeticMessageElement {}
extension UInt: ArithmeticMessageElement {}
extension Float: ArithmeticMessageElement {}
extension Double: ArithmeticMessageElement {}
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: ArithmeticMessageElement {}
#endif

extension ReductionOp where Element: ArithmeticMessageElement {
    /// Sum (`MPI_SUM`), wrapping on overflow for integers. Every rank gets the same bits from a
    /// floating-point all-reduce: the backends combine the ranks' values in one fixed order.
    @inlinable public static var sum: ReductionOp {
        ReductionOp(.sum) { combineElements($0, $1, $2) { (a: Element, b) in Element.reductionSum(a, b) } }
    }
    /// Product (`MPI_PROD`), wrapping on overflow for integers.
    @inlinable public static var product: ReductionOp {
        ReductionOp(.product) { combineElements($0, $1, $2) { (a: Element, b) in Element.reductionProduct(a, b) } }
    }
    /// Minimum (`MPI_MIN`).
    @inlinable public static var min: ReductionOp { ReductionOp(.minimum) { combineElements($0, $1, $2) { (a: Element, b) in Swift.min(a, b) } } }
    /// Maximum (`MPI_MAX`).
    @inlinable public static var max: ReductionOp { ReductionOp(.maximum) { combineElements($0, $1, $2) { (a: Element, b) in Swift.max(a, b) } } }
}

extension ReductionOp where Element: FixedWidthInteger {
    /// 1 when both are non-zero, else 0 (`MPI_LAND`).
    @inlinable public static var logicalAnd: ReductionOp { ReductionOp(.logicalAnd) { combineElements($0, $1, $2) { (a: Element, b) in a != 0 && b != 0 ? 1 : 0 } } }
    /// 1 when either is non-zero, else 0 (`MPI_LOR`).
    @inlinable public static var logicalOr: ReductionOp { ReductionOp(.logicalOr) { combineElements($0, $1, $2) { (a: Element, b) in a != 0 || b != 0 ? 1 : 0 } } }
    /// 1 when exactly one is non-zero, else 0 (`MPI_LXOR`).
    @inlinable public static var logicalXor: ReductionOp { ReductionOp(.logicalXor) { combineElements($0, $1, $2) { (a: Element, b) in (a != 0) != (b != 0) ? 1 : 0 } } }
    /// Bitwise and (`MPI_BAND`).
    @inlinable public static var bitwiseAnd: ReductionOp { ReductionOp(.bitwiseAnd) { combineElements($0, $1, $2) { (a: Element, b) in a & b } } }
    /// Bitwise or (`MPI_BOR`).
    @inlinable public static var bitwiseOr: ReductionOp { ReductionOp(.bitwiseOr) { combineElements($0, $1, $2) { (a: Element, b) in a | b } } }
    /// Bitwise exclusive or (`MPI_BXOR`).
    @inlinable public static var bitwiseXor: ReductionOp { ReductionOp(.bitwiseXor) { combineElements($0, $1, $2) { (a: Element, b) in a ^ b } } }
}

extension ReductionOp where Element == Bool {
    /// And (`MPI_LAND`).
    @inlinable public static var logicalAnd: ReductionOp { ReductionOp(.logicalAnd) { combineElements($0, $1, $2) { (a: Bool, b) in a && b } } }
    /// Or (`MPI_LOR`).
    @inlinable public static var logicalOr: ReductionOp { ReductionOp(.logicalOr) { combineElements($0, $1, $2) { (a: Bool, b) in a || b } } }
    /// Exclusive or (`MPI_LXOR`).
    @inlinable public static var logicalXor: ReductionOp { ReductionOp(.logicalXor) { combineElements($0, $1, $2) { (a: Bool, b) in a != b } } }
}

extension ReductionOp where Element: ValueIndexProtocol {
    /// The smallest value and, among equal ones, the smallest index (`MPI_MINLOC`).
    @inlinable public static var minLoc: ReductionOp {
        ReductionOp(.minimumLocation) {
            combineElements($0, $1, $2) { (a: Element, b) in
                a.value < b.value || (a.value == b.value && a.index < b.index) ? a : b
            }
        }
    }

    /// The largest value and, among equal ones, the smallest index (`MPI_MAXLOC`).
    @inlinable public static var maxLoc: ReductionOp {
        ReductionOp(.maximumLocation) {
            combineElements($0, $1, $2) { (a: Element, b) in
                a.value > b.value || (a.value == b.value && a.index < b.index) ? a : b
            }
        }
    }
}

/// A value with the index it belongs to, for the `.minLoc` and `.maxLoc` reductions.
public protocol ValueIndexProtocol: MessageElement {
    associatedtype Value: Comparable
    var value: Value { get }
    var index: Int { get }
}

/// A value and its index (typically a rank or a position): the element `.minLoc` and `.maxLoc`
/// reduce, like C's `MPI_DOUBLE_INT` pairs. It travels as its bytes, so any comparable scalar
/// works as the value.
@frozen
public struct ValueIndex<Value: MessageElement & Comparable>: ValueIndexProtocol, Equatable {
    public var value: Value
    public var index: Int

    @inlinable
    public init(_ value: Value, index: Int) {
        self.value = value
        self.index = index
    }

    @inlinable public static var datatype: Datatype { .contiguousBytes(of: ValueIndex.self) }
}

extension ValueIndex: Hashable where Value: Hashable {}
extension ValueIndex: Sendable where Value: Sendable {}
extension ValueIndex: CustomStringConvertible {
    public var description: String { "(\(value), index: \(index))" }
}

/// A reduction as the backends see it: which predefined operation it is (if any), whether its
/// operands may be swapped, and the Swift kernel that applies it.
@usableFromInline
package struct Reduction: Sendable {
    /// The predefined operations (`MPI_SUM`, …).
    @usableFromInline
    package enum Builtin: UInt8, Sendable, CustomStringConvertible {
        case sum = 1, product, minimum, maximum
        case logicalAnd, logicalOr, logicalXor, bitwiseAnd, bitwiseOr, bitwiseXor
        case minimumLocation, maximumLocation
        case replace, noOp

        @usableFromInline package var description: String {
            switch self {
            case .sum: "sum"
            case .product: "product"
            case .minimum: "min"
            case .maximum: "max"
            case .logicalAnd: "logicalAnd"
            case .logicalOr: "logicalOr"
            case .logicalXor: "logicalXor"
            case .bitwiseAnd: "bitwiseAnd"
            case .bitwiseOr: "bitwiseOr"
            case .bitwiseXor: "bitwiseXor"
            case .minimumLocation: "minLoc"
            case .maximumLocation: "maxLoc"
            case .replace: "replace"
            case .noOp: "noOp"
            }
        }
    }

    /// `output[i] = input[i] ∘ output[i]` for `count` elements, `input` holding the left operand
    /// (MPI's user-function contract; every backend applies every reduction through it, except
    /// where Open MPI has the operation built in).
    @usableFromInline
    package typealias Kernel = @Sendable (_ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer, _ count: Int) -> Void

    /// The predefined operation, `nil` for a user-defined one.
    @usableFromInline package let builtin: Builtin?
    @usableFromInline package let isCommutative: Bool
    @usableFromInline package let kernel: Kernel

    @inlinable
    package init(builtin: Builtin?, isCommutative: Bool, kernel: @escaping Kernel) {
        self.builtin = builtin
        self.isCommutative = isCommutative
        self.kernel = kernel
    }
}
