//! Filter expressions (AS_MSG field 43, `FILTER_EXP`): parsed and evaluated as the
//! server's `as/src/base/exp.c` does (CE 7.2), for every op except regex, geo and the
//! CDT/bit/HLL calls.
//!
//! # Wire format
//! msgpack. A list is an op, `[op_code, args...]`; anything else is a literal: nil,
//! bool, int, float, a string or blob (a str/bin whose first byte is Aerospike's type
//! prefix: 3 string, 4 blob, 18 HLL, 23 GeoJSON), a map; lists are literals only inside
//! `[126 (quote), [...]]`. Bin and variable names are raw strings without a prefix.
//!
//! # What the server does, and so the stand-in
//! - Parsing is typed (`build_*` in exp.c): every op checks its argument count and the
//!   static result types of its arguments — both sides of a comparison must have the
//!   same type, `and`/`or`/`not` take booleans, arithmetic takes all-int or all-float —
//!   and a filter must return a boolean. Any violation, bad msgpack or trailing bytes
//!   make the command fail with PARAMETER_ERROR (`handle_meta_filter`).
//! - Evaluation is three-valued. A bin that is missing or holds another type than the
//!   expression declares, a key that was not stored, an integer division or modulo by
//!   zero: all are *unknown*. A comparison with an unknown side is unknown; `not`
//!   keeps unknown; `and` is false if any argument is false, else unknown if any is;
//!   `or` is true if any argument is true, else unknown if any is; `exclusive` is
//!   unknown as soon as one argument is; `cond` is unknown when a tested condition is.
//! - An unknown final result filters the record out, as false does (`match_internal`
//!   with the record's bins loaded).
//! - The server first evaluates with metadata only (bins unknown) and loads the bins
//!   only when that is inconclusive. Every op keeps an unknown argument unknown except
//!   `and`/`or`, which only ever turn unknown into a definite answer that no value
//!   could change, so one evaluation over the whole record decides the same way.
//!
//! Known differences: regex compares, geo compares and GeoJSON literals, and calls
//! (CDT, bit and HLL expressions) are parsed for their structure and types, then
//! refused with UNSUPPORTED_FEATURE (16) instead of run; nesting deeper than
//! [`MAX_DEPTH`] is refused the same way (the server has no such limit).

use std::cmp::Ordering;

use super::msg::{BIN_NAME_MAX_LEN, CITRUSLEAF_EPOCH_UNIX_SECS, DIGEST_SIZE, rc};
use super::msgpack::{self, MpType, Reader};
use super::particle::Particle;

/// Deepest op nesting the stand-in parses. The parser and evaluator recurse (about
/// 2.5 and 3 KiB a level in a debug build), and a hostile message must not exhaust a
/// 2 MiB worker-thread stack; real filters nest a few levels.
pub const MAX_DEPTH: usize = 128;
/// Nanoseconds from the Unix epoch to the Citrusleaf epoch (2010-01-01): the server's
/// `last_update` and `void_time` answer Unix nanoseconds.
const CITRUSLEAF_EPOCH_NS: u64 = CITRUSLEAF_EPOCH_UNIX_SECS * 1_000_000_000;
/// Storage is allocated in 16-byte blocks (`RBLOCK_SIZE`); `record_size` counts them.
const RBLOCK_SIZE: usize = 16;
/// Most literal runs a call may interleave with evaluated arguments
/// (`OP_CALL_MAX_VEC_IDX`).
const CALL_MAX_VECS: usize = 18;
/// A call's first argument list starting with this op carries a CDT context
/// (`AS_CDT_OP_CONTEXT_EVAL`).
const CDT_OP_CONTEXT_EVAL: i64 = 0xff;
/// The flag in a call's system type that marks a modifying call (`CALL_FLAG_MODIFY_LOCAL`).
const CALL_FLAG_MODIFY_LOCAL: i64 = 0x40;

/// Op codes on the wire (`exp_op_code`).
mod code {
    pub const UNKNOWN: u64 = 0;
    pub const EQ: u64 = 1;
    pub const NE: u64 = 2;
    pub const GT: u64 = 3;
    pub const GE: u64 = 4;
    pub const LT: u64 = 5;
    pub const LE: u64 = 6;
    pub const REGEX: u64 = 7;
    pub const GEO: u64 = 8;
    pub const AND: u64 = 16;
    pub const OR: u64 = 17;
    pub const NOT: u64 = 18;
    pub const EXCLUSIVE: u64 = 19;
    pub const ADD: u64 = 20;
    pub const SUB: u64 = 21;
    pub const MUL: u64 = 22;
    pub const DIV: u64 = 23;
    pub const POW: u64 = 24;
    pub const LOG: u64 = 25;
    pub const MOD: u64 = 26;
    pub const ABS: u64 = 27;
    pub const FLOOR: u64 = 28;
    pub const CEIL: u64 = 29;
    pub const TO_INT: u64 = 30;
    pub const TO_FLOAT: u64 = 31;
    pub const INT_AND: u64 = 32;
    pub const INT_OR: u64 = 33;
    pub const INT_XOR: u64 = 34;
    pub const INT_NOT: u64 = 35;
    pub const INT_LSHIFT: u64 = 36;
    pub const INT_RSHIFT: u64 = 37;
    pub const INT_ARSHIFT: u64 = 38;
    pub const INT_COUNT: u64 = 39;
    pub const INT_LSCAN: u64 = 40;
    pub const INT_RSCAN: u64 = 41;
    pub const MIN: u64 = 50;
    pub const MAX: u64 = 51;
    pub const DIGEST_MODULO: u64 = 64;
    pub const DEVICE_SIZE: u64 = 65;
    pub const LAST_UPDATE: u64 = 66;
    pub const SINCE_UPDATE: u64 = 67;
    pub const VOID_TIME: u64 = 68;
    pub const TTL: u64 = 69;
    pub const SET_NAME: u64 = 70;
    pub const KEY_EXISTS: u64 = 71;
    pub const IS_TOMBSTONE: u64 = 72;
    pub const MEMORY_SIZE: u64 = 73;
    pub const RECORD_SIZE: u64 = 74;
    pub const KEY: u64 = 80;
    pub const BIN: u64 = 81;
    pub const BIN_TYPE: u64 = 82;
    pub const COND: u64 = 123;
    pub const VAR: u64 = 124;
    pub const LET: u64 = 125;
    pub const QUOTE: u64 = 126;
    pub const CALL: u64 = 127;
}

/// Why a filter cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpError {
    /// The server's parser would refuse it: PARAMETER_ERROR.
    #[error("malformed filter expression: {0}")]
    Malformed(&'static str),
    /// Well-formed, but the stand-in does not evaluate this: UNSUPPORTED_FEATURE.
    #[error("filter expression uses {0}, which the stand-in does not evaluate")]
    Unsupported(&'static str),
}

impl ExpError {
    /// The result code the command answers.
    pub fn result_code(&self) -> u8 {
        match self {
            ExpError::Malformed(_) => rc::PARAMETER,
            ExpError::Unsupported(_) => rc::UNSUPPORTED_FEATURE,
        }
    }
}

/// Static result types (`result_type`; the clients' `ExpType` numbers on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Nil,
    Bool,
    Int,
    Str,
    List,
    Map,
    Blob,
    Float,
    Geo,
    Hll,
    /// No static type: a msgpack literal other than a map (ext, wildcard, infinity),
    /// and the parser's "not yet known" marker (`TYPE_END`).
    End,
}

impl Ty {
    /// A type number from the wire, truncated to the server's 32-bit enum.
    fn from_wire(v: i64) -> Option<Ty> {
        Some(match v as u32 {
            0 => Ty::Nil,
            1 => Ty::Bool,
            2 => Ty::Int,
            3 => Ty::Str,
            4 => Ty::List,
            5 => Ty::Map,
            6 => Ty::Blob,
            7 => Ty::Float,
            8 => Ty::Geo,
            9 => Ty::Hll,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Math {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IntOp {
    And,
    Or,
    Xor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shift {
    Left,
    Right,
    Arithmetic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meta {
    DeviceSize,
    LastUpdate,
    SinceUpdate,
    VoidTime,
    Ttl,
    SetName,
    KeyExists,
    IsTombstone,
    MemorySize,
    RecordSize,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Vec<u8>),
    Blob(Vec<u8>),
    /// HLL and GeoJSON literals: only ever arguments of refused ops.
    Opaque,
    /// A list, map or other msgpack literal, as sent.
    Msgpack(Vec<u8>),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// Op 0: always unknown (the clients' `unknown()`, for `cond` branches).
    Unknown,
    Lit(Lit),
    Cmp(Cmp, Box<Node>, Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Exclusive(Vec<Node>),
    Math(Math, Vec<Node>),
    Pow(Box<Node>, Box<Node>),
    Log(Box<Node>, Box<Node>),
    Mod(Box<Node>, Box<Node>),
    Abs(Box<Node>),
    Floor(Box<Node>),
    Ceil(Box<Node>),
    ToInt(Box<Node>),
    ToFloat(Box<Node>),
    IntVargs(IntOp, Vec<Node>),
    IntNot(Box<Node>),
    IntShift(Shift, Box<Node>, Box<Node>),
    IntCount(Box<Node>),
    /// Index of the first bit equal to the flag, from the left (`lscan`) or right.
    IntScan {
        from_left: bool,
        value: Box<Node>,
        bit: Box<Node>,
    },
    DigestModulo(i32),
    Meta(Meta),
    Key(Ty),
    Bin(Vec<u8>, Ty),
    BinType(Vec<u8>),
    Cond(Vec<(Node, Node)>, Box<Node>),
    Let(Vec<(usize, Node)>, Box<Node>),
    Var(usize),
    /// A refused op (regex, geo, call); the parse fails with Unsupported if present.
    Refused,
}

impl Node {
    /// Whether the parser treats this as the `unknown` op: `cond` lets such branches
    /// have any type. A `let` counts when its scope does, since the server keeps the
    /// scope's table entry as the `let`'s.
    fn is_unknown_op(&self) -> bool {
        match self {
            Node::Unknown => true,
            Node::Let(_, scope) => scope.is_unknown_op(),
            _ => false,
        }
    }
}

/// A parsed filter, ready to run against records.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    root: Node,
    /// Slots for `let` variables.
    n_vars: usize,
}

/// What a filter sees of a record (the store builds it: `Record::filter_context`).
#[derive(Debug, Clone, Copy)]
pub struct RecordContext<'a> {
    pub digest: &'a [u8; DIGEST_SIZE],
    /// The set name ("" for none).
    pub set: &'a str,
    /// The user key, when stored.
    pub key: Option<RecordKey<'a>>,
    pub bins: &'a [(String, Particle)],
    /// Seconds since the Citrusleaf epoch; 0 = never expires.
    pub void_time: u32,
    /// Milliseconds since the Citrusleaf epoch.
    pub last_update_ms: u64,
    /// The record's flat (storage) size, end mark included.
    pub flat_size: usize,
    /// Now, in milliseconds since the Citrusleaf epoch.
    pub now_ms: u64,
}

/// A stored user key: its particle type and bytes.
#[derive(Debug, Clone, Copy)]
pub struct RecordKey<'a> {
    pub ptype: u8,
    pub data: &'a [u8],
}

impl<'a> RecordContext<'a> {
    /// A bin by its name's bytes, as the server matches names.
    fn bin(&self, name: &[u8]) -> Option<&'a Particle> {
        self.bins
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|(_, p)| p)
    }
}

impl Filter {
    /// Parses a field-43 value as `as_exp_filter_build` does.
    pub fn parse(wire: &[u8]) -> Result<Filter, ExpError> {
        let mut p = Parser {
            r: Reader::new(wire),
            vars: Vec::new(),
            next_var: 0,
            max_vars: 0,
            depth: 0,
            refused: None,
        };
        let (root, ty) = p.expr()?;
        if !p.r.at_end() {
            return Err(ExpError::Malformed("bytes after the expression"));
        }
        if ty != Ty::Bool {
            return Err(ExpError::Malformed("a filter must return a boolean"));
        }
        if let Some(what) = p.refused {
            return Err(ExpError::Unsupported(what));
        }
        Ok(Filter {
            root,
            n_vars: p.max_vars,
        })
    }

    /// Whether the record passes: an unknown result does not.
    pub fn matches(&self, cx: &RecordContext<'_>) -> bool {
        let mut vars = vec![Val::Unk; self.n_vars];
        matches!(eval(&self.root, cx, &mut vars), Val::Bool(true))
    }
}

/// A variable in scope while parsing.
struct VarDef<'a> {
    name: &'a [u8],
    slot: usize,
    /// `End` while its own definition is being parsed (`TYPE_END`).
    ty: Ty,
}

struct Parser<'a> {
    r: Reader<'a>,
    /// Variables of every enclosing `let`, innermost last.
    vars: Vec<VarDef<'a>>,
    next_var: usize,
    max_vars: usize,
    depth: usize,
    /// The first refused op met, if any.
    refused: Option<&'static str>,
}

fn bad(what: &'static str) -> ExpError {
    ExpError::Malformed(what)
}

/// `build_args_setup`: a fixed-arity op's argument count.
fn arity(argc: u32, n: u32) -> Result<(), ExpError> {
    if argc == n {
        Ok(())
    } else {
        Err(bad("wrong number of arguments"))
    }
}

/// `as_bin_name_check`: shorter than 16 bytes, no NUL.
fn bin_name_ok(name: &[u8]) -> bool {
    name.len() <= BIN_NAME_MAX_LEN && !name.contains(&0)
}

impl<'a> Parser<'a> {
    fn refuse(&mut self, what: &'static str) -> Node {
        self.refused.get_or_insert(what);
        Node::Refused
    }

    fn int(&mut self, what: &'static str) -> Result<i64, ExpError> {
        self.r.int64().ok_or(bad(what))
    }

    fn name(&mut self, what: &'static str) -> Result<&'a [u8], ExpError> {
        self.r.bin().ok_or(bad(what))
    }

    /// One expression and its static type (`build_next`).
    fn expr(&mut self) -> Result<(Node, Ty), ExpError> {
        if self.depth >= MAX_DEPTH {
            return Err(ExpError::Unsupported(
                "nesting deeper than the stand-in's limit",
            ));
        }
        self.depth += 1;
        let out = match self.r.peek_type() {
            MpType::List => self.op(),
            t => self.literal(t),
        };
        self.depth -= 1;
        out
    }

    /// A literal (`build_value_*`; validity as `build_count_sz` checks it).
    fn literal(&mut self, t: MpType) -> Result<(Node, Ty), ExpError> {
        let (lit, ty) = match t {
            MpType::Nil => {
                self.r.element().ok_or(bad("truncated nil"))?;
                (Lit::Nil, Ty::Nil)
            }
            MpType::False | MpType::True => (
                Lit::Bool(self.r.boolean().ok_or(bad("bad bool"))?),
                Ty::Bool,
            ),
            MpType::NegInt | MpType::Int => (Lit::Int(self.int("truncated integer")?), Ty::Int),
            MpType::Double => (
                Lit::Float(self.r.double().ok_or(bad("truncated float"))?),
                Ty::Float,
            ),
            MpType::Str => {
                let b = self.r.bin().ok_or(bad("truncated string"))?;
                (Lit::Str(b[1..].to_vec()), Ty::Str)
            }
            MpType::Bytes => {
                let b = self.r.bin().ok_or(bad("truncated blob"))?;
                match b.split_first() {
                    Some((&msgpack::BYTES_BLOB, rest)) => (Lit::Blob(rest.to_vec()), Ty::Blob),
                    Some((&msgpack::BYTES_HLL, _)) => (Lit::Opaque, Ty::Hll),
                    // Empty, or a raw string without a type prefix.
                    _ => return Err(bad("blob without a blob or HLL type byte")),
                }
            }
            MpType::GeoJson => {
                self.r.bin().ok_or(bad("truncated GeoJSON"))?;
                // The server parses the GeoJSON here and refuses invalid text.
                self.refuse("GeoJSON values");
                (Lit::Opaque, Ty::Geo)
            }
            MpType::Map => {
                let b = self.r.element().ok_or(bad("truncated map"))?;
                (Lit::Msgpack(b.to_vec()), Ty::Map)
            }
            MpType::Ext | MpType::Wildcard | MpType::Inf => {
                let b = self.r.element().ok_or(bad("truncated ext"))?;
                (Lit::Msgpack(b.to_vec()), Ty::End)
            }
            MpType::List | MpType::Error => return Err(bad("invalid msgpack")),
        };
        Ok((Node::Lit(lit), ty))
    }

    /// Parses `n` arguments that must all have type `want`.
    fn args_of(&mut self, n: u32, want: Ty, what: &'static str) -> Result<Vec<Node>, ExpError> {
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let (node, ty) = self.expr()?;
            if ty != want {
                return Err(bad(what));
            }
            out.push(node);
        }
        Ok(out)
    }

    fn one(&mut self, want: Ty, what: &'static str) -> Result<Box<Node>, ExpError> {
        let (node, ty) = self.expr()?;
        if ty != want {
            return Err(bad(what));
        }
        Ok(Box::new(node))
    }

    /// An op list (`build_*` by op code). Each group of ops has its own function so
    /// that the frames on the recursion path stay small (see [`MAX_DEPTH`]).
    fn op(&mut self) -> Result<(Node, Ty), ExpError> {
        let count = self.r.list_count().ok_or(bad("bad list header"))?;
        if count == 0 {
            return Err(bad("empty op list"));
        }
        let op = self.r.uint64().ok_or(bad("op code is not an integer"))?;
        let argc = count - 1;
        match op {
            code::UNKNOWN => {
                arity(argc, 0)?;
                Ok((Node::Unknown, Ty::Bool))
            }
            code::EQ..=code::GEO => self.compare_op(op, argc),
            code::AND..=code::EXCLUSIVE => self.logical_op(op, argc),
            code::ADD..=code::DIV | code::MIN | code::MAX => self.math_op(op, argc),
            code::POW..=code::TO_FLOAT => self.number_op(op, argc),
            code::INT_AND..=code::INT_RSCAN => self.int_op(op, argc),
            code::DIGEST_MODULO..=code::BIN_TYPE => self.record_op(op, argc),
            code::COND => self.cond(argc),
            code::VAR => self.var(argc),
            code::LET => self.let_(argc),
            code::QUOTE => {
                arity(argc, 1)?;
                if self.r.peek_type() != MpType::List {
                    return Err(bad("quote of a non-list"));
                }
                let list = self.r.element().ok_or(bad("truncated list"))?;
                Ok((Node::Lit(Lit::Msgpack(list.to_vec())), Ty::List))
            }
            code::CALL => self.call(argc),
            _ => Err(bad("invalid op code")),
        }
    }

    /// `build_compare`, `build_cmp_regex`, `build_cmp_geo`.
    fn compare_op(&mut self, op: u64, argc: u32) -> Result<(Node, Ty), ExpError> {
        match op {
            code::REGEX => {
                arity(argc, 3)?;
                self.int("regex options are not an integer")?;
                self.name("regex is not a string")?;
                self.one(Ty::Str, "regex compare of a non-string")?;
                // The server compiles the POSIX regex here (`regcomp`).
                Ok((self.refuse("regex compares"), Ty::Bool))
            }
            code::GEO => {
                arity(argc, 2)?;
                self.one(Ty::Geo, "geo compare of a non-GeoJSON value")?;
                self.one(Ty::Geo, "geo compare of a non-GeoJSON value")?;
                Ok((self.refuse("geo compares"), Ty::Bool))
            }
            _ => {
                arity(argc, 2)?;
                let (a, ta) = self.expr()?;
                let (b, tb) = self.expr()?;
                if ta != tb {
                    return Err(bad("comparison of different types"));
                }
                if matches!(ta, Ty::Geo | Ty::Hll) {
                    return Err(bad("comparison of GeoJSON or HLL values"));
                }
                let cmp = match op {
                    code::EQ => Cmp::Eq,
                    code::NE => Cmp::Ne,
                    code::GT => Cmp::Gt,
                    code::GE => Cmp::Ge,
                    code::LT => Cmp::Lt,
                    code::LE => Cmp::Le,
                    _ => return Err(bad("invalid op code")),
                };
                Ok((Node::Cmp(cmp, Box::new(a), Box::new(b)), Ty::Bool))
            }
        }
    }

    /// `build_logical_vargs`, `build_logical_not`.
    fn logical_op(&mut self, op: u64, argc: u32) -> Result<(Node, Ty), ExpError> {
        if op == code::NOT {
            arity(argc, 1)?;
            let a = self.one(Ty::Bool, "not of a non-boolean")?;
            return Ok((Node::Not(a), Ty::Bool));
        }
        if argc < 2 {
            return Err(bad("too few arguments"));
        }
        let args = self.args_of(argc, Ty::Bool, "logical op on a non-boolean")?;
        let node = match op {
            code::AND => Node::And(args),
            code::OR => Node::Or(args),
            _ => Node::Exclusive(args),
        };
        Ok((node, Ty::Bool))
    }

    /// `build_math_vargs`: all ints or all floats, the result of that type.
    fn math_op(&mut self, op: u64, argc: u32) -> Result<(Node, Ty), ExpError> {
        if argc < 1 {
            return Err(bad("too few arguments"));
        }
        let mut ty = Ty::End;
        let mut args = Vec::with_capacity(argc as usize);
        for _ in 0..argc {
            let (node, t) = self.expr()?;
            match t {
                Ty::Int | Ty::Float if ty == Ty::End || ty == t => ty = t,
                Ty::Int | Ty::Float => return Err(bad("arithmetic on mixed types")),
                _ => return Err(bad("arithmetic on a non-number")),
            }
            args.push(node);
        }
        let math = match op {
            code::ADD => Math::Add,
            code::SUB => Math::Sub,
            code::MUL => Math::Mul,
            code::DIV => Math::Div,
            code::MIN => Math::Min,
            _ => Math::Max,
        };
        Ok((Node::Math(math, args), ty))
    }

    /// `build_math_pow/log/mod`, `build_number_op`, `build_float_op`, `build_int_op`.
    fn number_op(&mut self, op: u64, argc: u32) -> Result<(Node, Ty), ExpError> {
        match op {
            code::POW | code::LOG => {
                arity(argc, 2)?;
                let a = self.one(Ty::Float, "pow/log of a non-float")?;
                let b = self.one(Ty::Float, "pow/log of a non-float")?;
                let node = if op == code::POW {
                    Node::Pow(a, b)
                } else {
                    Node::Log(a, b)
                };
                Ok((node, Ty::Float))
            }
            code::MOD => {
                arity(argc, 2)?;
                let a = self.one(Ty::Int, "mod of a non-integer")?;
                let b = self.one(Ty::Int, "mod of a non-integer")?;
                Ok((Node::Mod(a, b), Ty::Int))
            }
            code::ABS => {
                arity(argc, 1)?;
                let (a, t) = self.expr()?;
                if !matches!(t, Ty::Int | Ty::Float) {
                    return Err(bad("abs of a non-number"));
                }
                Ok((Node::Abs(Box::new(a)), t))
            }
            code::TO_FLOAT => {
                arity(argc, 1)?;
                let a = self.one(Ty::Int, "to_float of a non-integer")?;
                Ok((Node::ToFloat(a), Ty::Float))
            }
            code::FLOOR | code::CEIL | code::TO_INT => {
                arity(argc, 1)?;
                let a = self.one(Ty::Float, "float op on a non-float")?;
                Ok(match op {
                    code::FLOOR => (Node::Floor(a), Ty::Float),
                    code::CEIL => (Node::Ceil(a), Ty::Float),
                    _ => (Node::ToInt(a), Ty::Int),
                })
            }
            _ => Err(bad("invalid op code")),
        }
    }

    /// `build_int_vargs`, `build_int_one`, `build_int_shift`, `build_int_scan`.
    fn int_op(&mut self, op: u64, argc: u32) -> Result<(Node, Ty), ExpError> {
        let node = match op {
            code::INT_AND | code::INT_OR | code::INT_XOR => {
                if argc < 1 {
                    return Err(bad("too few arguments"));
                }
                let args = self.args_of(argc, Ty::Int, "bitwise op on a non-integer")?;
                let int_op = match op {
                    code::INT_AND => IntOp::And,
                    code::INT_OR => IntOp::Or,
                    _ => IntOp::Xor,
                };
                Node::IntVargs(int_op, args)
            }
            code::INT_NOT | code::INT_COUNT => {
                arity(argc, 1)?;
                let a = self.one(Ty::Int, "bitwise op on a non-integer")?;
                if op == code::INT_NOT {
                    Node::IntNot(a)
                } else {
                    Node::IntCount(a)
                }
            }
            code::INT_LSCAN | code::INT_RSCAN => {
                arity(argc, 2)?;
                let value = self.one(Ty::Int, "bit scan of a non-integer")?;
                let bit = self.one(Ty::Bool, "bit scan for a non-boolean")?;
                Node::IntScan {
                    from_left: op == code::INT_LSCAN,
                    value,
                    bit,
                }
            }
            code::INT_LSHIFT | code::INT_RSHIFT | code::INT_ARSHIFT => {
                arity(argc, 2)?;
                let a = self.one(Ty::Int, "shift of a non-integer")?;
                let b = self.one(Ty::Int, "shift of a non-integer")?;
                let shift = match op {
                    code::INT_LSHIFT => Shift::Left,
                    code::INT_RSHIFT => Shift::Right,
                    _ => Shift::Arithmetic,
                };
                Node::IntShift(shift, a, b)
            }
            _ => return Err(bad("invalid op code")),
        };
        Ok((node, Ty::Int))
    }

    /// Record metadata, key and bins (`build_meta_digest_mod`, `build_default`,
    /// `build_rec_key`, `build_bin`, `build_bin_type`); op codes 75-79 do not exist.
    fn record_op(&mut self, op: u64, argc: u32) -> Result<(Node, Ty), ExpError> {
        let meta = |m| Ok((Node::Meta(m), Ty::Int));
        match op {
            code::DIGEST_MODULO => {
                arity(argc, 1)?;
                // The server keeps the low 32 bits.
                let m = self.int("digest modulo is not an integer")? as i32;
                if m == 0 {
                    return Err(bad("digest modulo by zero"));
                }
                Ok((Node::DigestModulo(m), Ty::Int))
            }
            code::KEY => {
                arity(argc, 1)?;
                match Ty::from_wire(self.int("key type is not an integer")?) {
                    Some(t @ (Ty::Int | Ty::Str | Ty::Blob)) => Ok((Node::Key(t), t)),
                    _ => Err(bad("key type is not int, string or blob")),
                }
            }
            code::BIN => {
                arity(argc, 2)?;
                let t = self.int("bin type is not an integer")?;
                let name = self.name("bin name is not a string")?;
                if !bin_name_ok(name) {
                    return Err(bad("invalid bin name"));
                }
                let ty = Ty::from_wire(t).ok_or(bad("invalid bin type"))?;
                Ok((Node::Bin(name.to_vec(), ty), ty))
            }
            code::BIN_TYPE => {
                arity(argc, 1)?;
                let name = self.name("bin name is not a string")?;
                if !bin_name_ok(name) {
                    return Err(bad("invalid bin name"));
                }
                Ok((Node::BinType(name.to_vec()), Ty::Int))
            }
            code::DEVICE_SIZE..=code::RECORD_SIZE => {
                arity(argc, 0)?;
                match op {
                    code::DEVICE_SIZE => meta(Meta::DeviceSize),
                    code::LAST_UPDATE => meta(Meta::LastUpdate),
                    code::SINCE_UPDATE => meta(Meta::SinceUpdate),
                    code::VOID_TIME => meta(Meta::VoidTime),
                    code::TTL => meta(Meta::Ttl),
                    code::SET_NAME => Ok((Node::Meta(Meta::SetName), Ty::Str)),
                    code::KEY_EXISTS => Ok((Node::Meta(Meta::KeyExists), Ty::Bool)),
                    code::IS_TOMBSTONE => Ok((Node::Meta(Meta::IsTombstone), Ty::Bool)),
                    code::MEMORY_SIZE => meta(Meta::MemorySize),
                    _ => meta(Meta::RecordSize),
                }
            }
            _ => Err(bad("invalid op code")),
        }
    }

    /// `[124, name]` (`build_var`).
    fn var(&mut self, argc: u32) -> Result<(Node, Ty), ExpError> {
        arity(argc, 1)?;
        let name = self.name("variable name is not a string")?;
        let Some(def) = self.vars.iter().rev().find(|v| v.name == name) else {
            return Err(bad("undefined variable"));
        };
        if def.ty == Ty::End {
            return Err(bad("variable used in its own definition"));
        }
        Ok((Node::Var(def.slot), def.ty))
    }

    /// `[123, cond1, value1, ..., default]` (`build_cond`).
    fn cond(&mut self, argc: u32) -> Result<(Node, Ty), ExpError> {
        if argc < 3 || argc.is_multiple_of(2) {
            return Err(bad("cond needs case pairs and a default"));
        }
        // `End` = no branch has fixed the type yet, as the server's TYPE_END.
        let mut ty = Ty::End;
        let mut cases = Vec::with_capacity(argc as usize / 2);
        for _ in 0..argc / 2 {
            let (c, tc) = self.expr()?;
            if tc != Ty::Bool {
                return Err(bad("cond condition is not a boolean"));
            }
            let (v, tv) = self.expr()?;
            if !v.is_unknown_op() {
                if ty == Ty::End {
                    ty = tv;
                }
                if tv != ty {
                    return Err(bad("cond branches of different types"));
                }
            }
            cases.push((c, v));
        }
        let (d, td) = self.expr()?;
        if ty == Ty::End {
            ty = td;
        } else if !d.is_unknown_op() && td != ty {
            return Err(bad("cond default of another type"));
        }
        if ty == Ty::End {
            // The server asserts here; refusing is the closest safe answer.
            return Err(bad("cond without a typed branch"));
        }
        Ok((Node::Cond(cases, Box::new(d)), ty))
    }

    /// `[125, name1, exp1, ..., scope]` (`build_let`).
    fn let_(&mut self, argc: u32) -> Result<(Node, Ty), ExpError> {
        if argc < 3 || argc.is_multiple_of(2) {
            return Err(bad("let needs name/value pairs and a scope"));
        }
        let scope_start = self.vars.len();
        let mut defs = Vec::with_capacity(argc as usize / 2);
        for _ in 0..argc / 2 {
            let name = self.name("variable name is not a string")?;
            let valid = name.split_first().is_some_and(|(first, rest)| {
                (*first == b'_' || first.is_ascii_alphabetic())
                    && rest.iter().all(|c| *c == b'_' || c.is_ascii_alphanumeric())
            });
            if !valid {
                return Err(bad("invalid variable name"));
            }
            if self.vars.iter().any(|v| v.name == name) {
                return Err(bad("duplicate variable name"));
            }
            let slot = self.next_var;
            self.next_var += 1;
            self.vars.push(VarDef {
                name,
                slot,
                ty: Ty::End,
            });
            let (value, ty) = self.expr()?;
            if let Some(v) = self.vars.last_mut() {
                v.ty = ty;
            }
            defs.push((slot, value));
        }
        let (scope, ty) = self.expr()?;
        self.max_vars = self.max_vars.max(self.next_var);
        self.next_var -= defs.len();
        self.vars.truncate(scope_start);
        Ok((Node::Let(defs, Box::new(scope)), ty))
    }

    /// `[127, type, system, [op, params...], bin]` (`build_call`, `parse_op_call`):
    /// checked for structure and types, then refused.
    fn call(&mut self, argc: u32) -> Result<(Node, Ty), ExpError> {
        arity(argc, 4)?;
        let t = self.int("call type is not an integer")?;
        let system = self.int("call system is not an integer")?;
        let ty = Ty::from_wire(t).ok_or(bad("invalid call type"))?;
        let mut count = self.r.list_count().ok_or(bad("call without an op list"))?;
        let mut call_op = self.int("call op is not an integer")?;
        if call_op == CDT_OP_CONTEXT_EVAL {
            if count != 3 || self.r.element().is_none() {
                return Err(bad("bad CDT context"));
            }
            count = self.r.list_count().ok_or(bad("bad CDT context"))?;
            call_op = self.int("call op is not an integer")?;
        }
        let _ = call_op;
        // Literal runs and evaluated arguments alternate in the server's vectors.
        let mut idx = 0usize;
        let mut run_len = 1usize;
        for _ in 1..count {
            match self.r.peek_type() {
                MpType::List => {
                    if run_len != 0 {
                        idx += 1;
                    }
                    idx += 1;
                    self.expr()?;
                    run_len = 0;
                }
                MpType::Error => return Err(bad("invalid call parameter")),
                _ => {
                    let e = self.r.element().ok_or(bad("invalid call parameter"))?;
                    run_len += e.len();
                }
            }
            if idx >= CALL_MAX_VECS {
                return Err(bad("too many call parameters"));
            }
        }
        let (_, bin_ty) = self.expr()?;
        let node = self.refuse("CDT, bit and HLL expressions");
        if bin_ty == Ty::Nil {
            // The server skips the checks below and keeps the bin argument's type.
            return Ok((node, Ty::Nil));
        }
        let bin_ok = match system & !CALL_FLAG_MODIFY_LOCAL {
            0 => matches!(bin_ty, Ty::List | Ty::Map),
            1 => bin_ty == Ty::Blob,
            2 => bin_ty == Ty::Hll,
            _ => return Err(bad("invalid call system")),
        };
        if !bin_ok {
            return Err(bad("call on a bin of the wrong type"));
        }
        Ok((node, ty))
    }
}

/// A runtime value (`rt_value`), borrowing from the filter or the record.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val<'a> {
    Unk,
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a [u8]),
    Blob(&'a [u8]),
    /// A list or map (a bin's packed value or a literal) or another msgpack literal.
    Msgpack(&'a [u8]),
    /// An HLL or GeoJSON value: only refused ops use them.
    Opaque,
}

impl Lit {
    fn val(&self) -> Val<'_> {
        match self {
            Lit::Nil => Val::Nil,
            Lit::Bool(b) => Val::Bool(*b),
            Lit::Int(i) => Val::Int(*i),
            Lit::Float(f) => Val::Float(*f),
            Lit::Str(s) => Val::Str(s),
            Lit::Blob(b) => Val::Blob(b),
            Lit::Opaque => Val::Opaque,
            Lit::Msgpack(m) => Val::Msgpack(m),
        }
    }
}

/// A comparison's answer for an ordering (or `None` when the values are unordered, as
/// IEEE NaN: then only `ne` holds).
fn cmp_result(op: Cmp, o: Option<Ordering>) -> bool {
    match (op, o) {
        (Cmp::Eq, o) => o == Some(Ordering::Equal),
        (Cmp::Ne, o) => o != Some(Ordering::Equal),
        (Cmp::Gt, o) => o == Some(Ordering::Greater),
        (Cmp::Ge, o) => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
        (Cmp::Lt, o) => o == Some(Ordering::Less),
        (Cmp::Le, o) => matches!(o, Some(Ordering::Less | Ordering::Equal)),
    }
}

/// `eval_compare` once both sides are known.
fn compare(op: Cmp, a: Val<'_>, b: Val<'_>) -> Val<'static> {
    let ordering = match (a, b) {
        (Val::Nil, Val::Nil) => Some(Ordering::Equal),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(&y)),
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(&y)),
        (Val::Float(x), Val::Float(y)) => x.partial_cmp(&y),
        (Val::Str(x), Val::Str(y)) | (Val::Blob(x), Val::Blob(y)) => Some(x.cmp(y)),
        (Val::Msgpack(x), Val::Msgpack(y)) => match msgpack::compare(x, y) {
            Some(o) => Some(o),
            None => return Val::Unk,
        },
        // The parser's type rules keep other pairs out.
        _ => return Val::Unk,
    };
    Val::Bool(cmp_result(op, ordering))
}

/// `(int64_t)` of a double on x86: truncation, with `i64::MIN` for NaN and values out
/// of range (the C conversion is undefined there; this is what the hardware gives).
fn float_to_int(f: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// The record's storage size: its flat size rounded up to whole storage blocks
/// (`as_record_stored_size`).
fn stored_size(flat_size: usize) -> i64 {
    (flat_size.div_ceil(RBLOCK_SIZE) * RBLOCK_SIZE) as i64
}

fn eval<'a>(n: &'a Node, cx: &RecordContext<'a>, vars: &mut [Val<'a>]) -> Val<'a> {
    let mut ev = |n: &'a Node| eval(n, cx, vars);
    match n {
        Node::Unknown | Node::Refused => Val::Unk,
        Node::Lit(l) => l.val(),
        Node::Cmp(op, a, b) => {
            let a = ev(a);
            if a == Val::Unk {
                return Val::Unk;
            }
            let b = ev(b);
            if b == Val::Unk {
                return Val::Unk;
            }
            compare(*op, a, b)
        }
        Node::And(args) => {
            let mut out = Val::Bool(true);
            for a in args {
                match ev(a) {
                    Val::Bool(false) => return Val::Bool(false),
                    Val::Unk => out = Val::Unk,
                    _ => {}
                }
            }
            out
        }
        Node::Or(args) => {
            let mut out = Val::Bool(false);
            for a in args {
                match ev(a) {
                    Val::Bool(true) => return Val::Bool(true),
                    Val::Unk => out = Val::Unk,
                    _ => {}
                }
            }
            out
        }
        Node::Not(a) => match ev(a) {
            Val::Bool(b) => Val::Bool(!b),
            other => other,
        },
        Node::Exclusive(args) => {
            // True when exactly one argument is.
            let mut seen = false;
            for a in args {
                match ev(a) {
                    Val::Unk => return Val::Unk,
                    Val::Bool(true) if seen => return Val::Bool(false),
                    Val::Bool(true) => seen = true,
                    _ => {}
                }
            }
            Val::Bool(seen)
        }
        Node::Math(op, args) => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                match ev(a) {
                    Val::Unk => return Val::Unk,
                    v => vals.push(v),
                }
            }
            math(*op, &vals)
        }
        Node::Pow(a, b) | Node::Log(a, b) => {
            let (Val::Float(x), Val::Float(y)) = (ev(a), ev(b)) else {
                return Val::Unk;
            };
            Val::Float(match n {
                Node::Pow(..) => x.powf(y),
                _ => x.ln() / y.ln(),
            })
        }
        Node::Mod(a, b) => match (ev(a), ev(b)) {
            (Val::Int(_), Val::Int(0)) => Val::Unk,
            (Val::Int(x), Val::Int(y)) => Val::Int(x.wrapping_rem(y)),
            _ => Val::Unk,
        },
        Node::Abs(a) => match ev(a) {
            Val::Int(x) => Val::Int(x.wrapping_abs()),
            Val::Float(x) => Val::Float(x.abs()),
            _ => Val::Unk,
        },
        Node::Floor(a) | Node::Ceil(a) | Node::ToInt(a) => match (n, ev(a)) {
            (Node::Floor(_), Val::Float(x)) => Val::Float(x.floor()),
            (Node::Ceil(_), Val::Float(x)) => Val::Float(x.ceil()),
            (_, Val::Float(x)) => Val::Int(float_to_int(x)),
            _ => Val::Unk,
        },
        Node::ToFloat(a) => match ev(a) {
            Val::Int(x) => Val::Float(x as f64),
            _ => Val::Unk,
        },
        Node::IntVargs(op, args) => {
            let mut acc: Option<i64> = None;
            for a in args {
                let Val::Int(x) = ev(a) else {
                    return Val::Unk;
                };
                acc = Some(match (acc, op) {
                    (None, _) => x,
                    (Some(v), IntOp::And) => v & x,
                    (Some(v), IntOp::Or) => v | x,
                    (Some(v), IntOp::Xor) => v ^ x,
                });
            }
            acc.map_or(Val::Unk, Val::Int)
        }
        Node::IntNot(a) => match ev(a) {
            Val::Int(x) => Val::Int(!x),
            _ => Val::Unk,
        },
        Node::IntCount(a) => match ev(a) {
            Val::Int(x) => Val::Int(i64::from(x.count_ones())),
            _ => Val::Unk,
        },
        Node::IntShift(shift, a, b) => {
            let Val::Int(x) = ev(a) else {
                return Val::Unk;
            };
            let Val::Int(s) = ev(b) else {
                return Val::Unk;
            };
            // x86 shifts use the count modulo 64; so does `wrapping_sh*`.
            let s = s as u32;
            Val::Int(match shift {
                Shift::Left => x.wrapping_shl(s),
                Shift::Right => (x as u64).wrapping_shr(s) as i64,
                Shift::Arithmetic => x.wrapping_shr(s),
            })
        }
        Node::IntScan {
            from_left,
            value,
            bit,
        } => {
            let Val::Int(x) = ev(value) else {
                return Val::Unk;
            };
            let Val::Bool(set) = ev(bit) else {
                return Val::Unk;
            };
            let x = (if set { x } else { !x }) as u64;
            // Bit 0 is the most significant; -1 when no bit matches.
            Val::Int(if *from_left {
                match x.leading_zeros() {
                    64 => -1,
                    n => i64::from(n),
                }
            } else {
                63 - i64::from(x.trailing_zeros())
            })
        }
        Node::DigestModulo(m) => {
            // The server reads digest bytes 16..20 as a little-endian u32.
            let d = cx.digest;
            let v = u32::from_le_bytes([d[16], d[17], d[18], d[19]]);
            Val::Int(i64::from(v) % i64::from(*m))
        }
        Node::Meta(m) => meta(*m, cx),
        Node::Key(ty) => {
            let Some(k) = cx.key else {
                return Val::Unk;
            };
            let v = match Particle::decode(k.ptype, k.data) {
                Ok(Some(Particle::Int(i))) if k.data.len() == 8 => Val::Int(i),
                Ok(Some(Particle::Str(_))) => Val::Str(k.data),
                Ok(Some(Particle::Blob(_))) => Val::Blob(k.data),
                _ => return Val::Unk,
            };
            match (ty, v) {
                (Ty::Int, Val::Int(_)) | (Ty::Str, Val::Str(_)) | (Ty::Blob, Val::Blob(_)) => v,
                _ => Val::Unk,
            }
        }
        Node::Bin(name, ty) => {
            let Some(p) = cx.bin(name) else {
                return Val::Unk;
            };
            match (ty, p) {
                (Ty::Int, Particle::Int(i)) => Val::Int(*i),
                (Ty::Float, Particle::Float(f)) => Val::Float(*f),
                (Ty::Bool, Particle::Bool(b)) => Val::Bool(*b),
                (Ty::Str, Particle::Str(s)) => Val::Str(s),
                (Ty::Blob, Particle::Blob(b)) => Val::Blob(b),
                (Ty::List, Particle::List(m)) | (Ty::Map, Particle::Map(m)) => Val::Msgpack(m),
                (Ty::Geo, Particle::GeoJson(_)) | (Ty::Hll, Particle::Hll(_)) => Val::Opaque,
                // Another type than declared (`bin_is_type`), or a nil-typed bin.
                _ => Val::Unk,
            }
        }
        Node::BinType(name) => Val::Int(cx.bin(name).map_or(0, |p| i64::from(p.ptype()))),
        Node::Cond(cases, default) => {
            for (c, v) in cases {
                match ev(c) {
                    Val::Unk => return Val::Unk,
                    Val::Bool(true) => return ev(v),
                    _ => {}
                }
            }
            ev(default)
        }
        Node::Let(defs, scope) => {
            for (slot, value) in defs {
                let v = eval(value, cx, vars);
                vars[*slot] = v;
            }
            eval(scope, cx, vars)
        }
        Node::Var(slot) => vars[*slot],
    }
}

/// `eval_add` … `eval_max` over known arguments (all ints or all floats).
fn math(op: Math, vals: &[Val<'_>]) -> Val<'static> {
    match vals {
        [Val::Int(first), rest @ ..] => {
            let mut ints = Vec::with_capacity(rest.len());
            for v in rest {
                let Val::Int(x) = v else { return Val::Unk };
                ints.push(*x);
            }
            int_math(op, *first, &ints)
        }
        [Val::Float(first), rest @ ..] => {
            let mut floats = Vec::with_capacity(rest.len());
            for v in rest {
                let Val::Float(x) = v else { return Val::Unk };
                floats.push(*x);
            }
            Val::Float(float_math(op, *first, &floats))
        }
        _ => Val::Unk,
    }
}

fn int_math(op: Math, first: i64, rest: &[i64]) -> Val<'static> {
    Val::Int(match op {
        Math::Add => rest.iter().fold(first, |a, x| a.wrapping_add(*x)),
        Math::Sub if rest.is_empty() => first.wrapping_neg(),
        Math::Sub => rest.iter().fold(first, |a, x| a.wrapping_sub(*x)),
        Math::Mul => rest.iter().fold(first, |a, x| a.wrapping_mul(*x)),
        Math::Div => {
            // One argument is its reciprocal; otherwise the first over the product
            // of the rest. A zero divisor is unknown.
            let (dividend, divisor) = if rest.is_empty() {
                (1, first)
            } else {
                (first, rest.iter().fold(1i64, |a, x| a.wrapping_mul(*x)))
            };
            if divisor == 0 {
                return Val::Unk;
            }
            dividend.wrapping_div(divisor)
        }
        Math::Min => rest.iter().fold(first, |a, x| if a > *x { *x } else { a }),
        Math::Max => rest.iter().fold(first, |a, x| if a < *x { *x } else { a }),
    })
}

fn float_math(op: Math, first: f64, rest: &[f64]) -> f64 {
    match op {
        Math::Add => rest.iter().fold(first, |a, x| a + x),
        Math::Sub if rest.is_empty() => 0.0 - first,
        Math::Sub => rest.iter().fold(first, |a, x| a - x),
        Math::Mul => rest.iter().fold(first, |a, x| a * x),
        Math::Div if rest.is_empty() => 1.0 / first,
        Math::Div => first / rest.iter().product::<f64>(),
        // A NaN argument never replaces the running value, as in the server's loop.
        Math::Min => rest.iter().fold(first, |a, x| if a > *x { *x } else { a }),
        Math::Max => rest.iter().fold(first, |a, x| if a < *x { *x } else { a }),
    }
}

/// Record metadata (`eval_meta_*`).
fn meta<'a>(m: Meta, cx: &RecordContext<'a>) -> Val<'a> {
    let now_secs = cx.now_ms / 1000;
    match m {
        // The stand-in's namespaces are memory-only: no device copy.
        Meta::DeviceSize => Val::Int(0),
        Meta::MemorySize | Meta::RecordSize => Val::Int(stored_size(cx.flat_size)),
        Meta::LastUpdate => {
            Val::Int(CITRUSLEAF_EPOCH_NS.wrapping_add(cx.last_update_ms * 1_000_000) as i64)
        }
        Meta::SinceUpdate => Val::Int(cx.now_ms.saturating_sub(cx.last_update_ms) as i64),
        Meta::VoidTime => Val::Int(match cx.void_time {
            0 => -1,
            v => CITRUSLEAF_EPOCH_NS.wrapping_add(u64::from(v) * 1_000_000_000) as i64,
        }),
        // `cf_server_void_time_to_ttl`: -1 for never, at least 1 otherwise.
        Meta::Ttl => Val::Int(match u64::from(cx.void_time) {
            0 => -1,
            v if v > now_secs => i64::from((v - now_secs) as u32 as i32),
            _ => 1,
        }),
        Meta::SetName => Val::Str(cx.set.as_bytes()),
        Meta::KeyExists => Val::Bool(cx.key.is_some()),
        // Only live records reach a filter, and CE keeps no durable-delete tombstones.
        Meta::IsTombstone => Val::Bool(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny msgpack writer for expressions, independent of the parser.
    #[derive(Default, Clone)]
    struct W(Vec<u8>);

    impl W {
        fn list(mut self, n: u8) -> Self {
            self.0.push(0x90 | n);
            self
        }
        fn op(self, op: u64, n_args: u8) -> Self {
            self.list(n_args + 1).int(op as i64)
        }
        fn int(mut self, v: i64) -> Self {
            if (0..128).contains(&v) {
                self.0.push(v as u8);
            } else {
                self.0.push(0xd3);
                self.0.extend_from_slice(&v.to_be_bytes());
            }
            self
        }
        fn float(mut self, v: f64) -> Self {
            self.0.push(0xcb);
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn boolean(mut self, b: bool) -> Self {
            self.0.push(if b { 0xc3 } else { 0xc2 });
            self
        }
        /// A bin or variable name: no type prefix.
        fn raw(mut self, s: &str) -> Self {
            self.0.push(0xa0 | s.len() as u8);
            self.0.extend_from_slice(s.as_bytes());
            self
        }
        /// A string value: type prefix 3.
        fn string(mut self, s: &str) -> Self {
            self.0.push(0xa0 | (s.len() + 1) as u8);
            self.0.push(msgpack::BYTES_STRING);
            self.0.extend_from_slice(s.as_bytes());
            self
        }
        fn bytes(mut self, b: &[u8]) -> Self {
            self.0.extend_from_slice(b);
            self
        }
        fn unknown(self) -> Self {
            self.op(code::UNKNOWN, 0)
        }
        fn bin(self, name: &str, ty: i64) -> Self {
            self.op(code::BIN, 2).int(ty).raw(name)
        }
        fn int_bin(self, name: &str) -> Self {
            self.bin(name, 2)
        }
        fn bin_exists(self, name: &str) -> Self {
            self.op(code::NE, 2).op(code::BIN_TYPE, 1).raw(name).int(0)
        }
    }

    /// A stored record, as the store would describe it to a filter.
    struct Rec {
        bins: Vec<(String, Particle)>,
        key: Option<(u8, Vec<u8>)>,
        void_time: u32,
    }

    fn record(bins: Vec<(&str, Particle)>) -> Rec {
        Rec {
            bins: bins.into_iter().map(|(n, p)| (n.to_owned(), p)).collect(),
            key: None,
            void_time: 0,
        }
    }

    /// Now in the tests: 5 s after the Citrusleaf epoch; the record was written at 1 s.
    const NOW_MS: u64 = 5_000;
    const LAST_UPDATE_MS: u64 = 1_000;
    const FLAT_SIZE: usize = 57;

    fn run_on(w: &W, r: &Rec, digest: &[u8; DIGEST_SIZE]) -> Result<bool, ExpError> {
        let f = Filter::parse(&w.0)?;
        Ok(f.matches(&RecordContext {
            digest,
            set: "s",
            key: r.key.as_ref().map(|(ptype, data)| RecordKey {
                ptype: *ptype,
                data,
            }),
            bins: &r.bins,
            void_time: r.void_time,
            last_update_ms: LAST_UPDATE_MS,
            flat_size: FLAT_SIZE,
            now_ms: NOW_MS,
        }))
    }

    fn run(w: W, r: &Rec) -> Result<bool, ExpError> {
        run_on(&w, r, &[0; DIGEST_SIZE])
    }

    fn empty() -> Rec {
        record(vec![("a", Particle::Int(5))])
    }

    /// `or(not(bin_exists("version")), lt(int_bin("version"), int_val(v)))`.
    fn version_guard(v: i64) -> W {
        W::default()
            .op(code::OR, 2)
            .op(code::NOT, 1)
            .bin_exists("version")
            .op(code::LT, 2)
            .int_bin("version")
            .int(v)
    }

    #[test]
    fn version_guard_follows_three_valued_logic() {
        let absent = record(vec![("other", Particle::Int(1))]);
        let older = record(vec![("version", Particle::Int(4))]);
        let same = record(vec![("version", Particle::Int(5))]);
        let newer = record(vec![("version", Particle::Int(9))]);
        let wrong_type = record(vec![("version", Particle::Str(b"4".to_vec()))]);
        assert_eq!(run(version_guard(5), &absent), Ok(true));
        assert_eq!(run(version_guard(5), &older), Ok(true));
        assert_eq!(run(version_guard(5), &same), Ok(false));
        assert_eq!(run(version_guard(5), &newer), Ok(false));
        // The bin exists, so the left side is false; the right side is unknown.
        assert_eq!(run(version_guard(5), &wrong_type), Ok(false));
    }

    #[test]
    fn unknown_propagates_as_in_exp_c() {
        let r = empty();
        let t = |w: W| run(w, &r).expect("parses");
        let unk = || W::default().unknown();
        // and: false wins, else unknown wins.
        assert!(!t(W::default().op(code::AND, 2).unknown().boolean(true)));
        assert!(t(W::default()
            .op(code::NOT, 1)
            .op(code::AND, 2)
            .unknown()
            .boolean(false)));
        assert!(!t(W::default()
            .op(code::NOT, 1)
            .op(code::AND, 2)
            .unknown()
            .boolean(true)));
        // or: true wins, else unknown wins.
        assert!(t(W::default().op(code::OR, 2).unknown().boolean(true)));
        assert!(!t(W::default()
            .op(code::NOT, 1)
            .op(code::OR, 2)
            .unknown()
            .boolean(false)));
        // not keeps unknown: neither a filter nor its negation passes.
        assert!(!t(unk()));
        assert!(!t(W::default().op(code::NOT, 1).unknown()));
        // exclusive: unknown as soon as one argument is, unless two trues came first.
        assert!(!t(W::default()
            .op(code::NOT, 1)
            .op(code::EXCLUSIVE, 2)
            .boolean(true)
            .unknown()));
        assert!(t(W::default()
            .op(code::NOT, 1)
            .op(code::EXCLUSIVE, 3)
            .boolean(true)
            .boolean(true)
            .unknown()));
        assert!(t(W::default()
            .op(code::EXCLUSIVE, 3)
            .boolean(false)
            .boolean(true)
            .boolean(false)));
        // A comparison with a missing bin is unknown, and so is its negation.
        let missing = || W::default().op(code::EQ, 2).int_bin("nope").int(1);
        assert!(!t(missing()));
        assert!(!t(W::default().op(code::NOT, 1).bytes(&missing().0)));
    }

    #[test]
    fn comparisons_follow_each_type() {
        let r = record(vec![
            ("i", Particle::Int(-3)),
            ("f", Particle::Float(2.5)),
            ("s", Particle::Str(b"abc".to_vec())),
            ("b", Particle::Blob(vec![1, 2])),
            ("t", Particle::Bool(true)),
            ("l", Particle::List(vec![0x92, 0x01, 0x02])),
        ]);
        let t = |w: W| run(w, &r).expect("parses");
        assert!(t(W::default().op(code::LT, 2).int_bin("i").int(0)));
        assert!(t(W::default().op(code::GE, 2).bin("f", 7).float(2.5)));
        assert!(t(W::default().op(code::GT, 2).bin("s", 3).string("abb")));
        assert!(t(W::default().op(code::LT, 2).bin("s", 3).string("abcd")));
        assert!(t(W::default().op(code::EQ, 2).bin("b", 6).bytes(&[
            0xa3,
            msgpack::BYTES_BLOB,
            1,
            2
        ])));
        assert!(t(W::default().op(code::GT, 2).bin("t", 1).boolean(false)));
        // nil == nil; a list bin against a quoted list literal.
        assert!(t(W::default().op(code::EQ, 2).bytes(&[0xc0, 0xc0])));
        let quoted = |items: &[u8]| W::default().op(code::QUOTE, 1).bytes(items);
        assert!(t(W::default()
            .op(code::EQ, 2)
            .bin("l", 4)
            .bytes(&quoted(&[0x92, 0x01, 0x02]).0)));
        assert!(t(W::default()
            .op(code::LT, 2)
            .bin("l", 4)
            .bytes(&quoted(&[0x93, 0x01, 0x02, 0x00]).0)));
        // A declared type other than the stored one is unknown, whatever the op.
        assert!(!t(W::default().op(code::NE, 2).bin("i", 7).float(1.0)));
        assert!(!t(W::default()
            .op(code::NOT, 1)
            .op(code::EQ, 2)
            .bin("i", 7)
            .float(1.0)));
    }

    #[test]
    fn malformed_expressions_are_parameter_errors() {
        let r = empty();
        let cases: Vec<(&str, W)> = vec![
            ("empty", W::default()),
            ("int result", W::default().int(1)),
            (
                "type mismatch",
                W::default().op(code::EQ, 2).int_bin("a").string("x"),
            ),
            (
                "int vs float",
                W::default().op(code::EQ, 2).int_bin("a").float(1.0),
            ),
            ("arity", W::default().op(code::EQ, 3).int(1).int(1).int(1)),
            ("and of one", W::default().op(code::AND, 1).boolean(true)),
            (
                "and of int",
                W::default().op(code::AND, 2).boolean(true).int(1),
            ),
            ("trailing", W::default().boolean(true).boolean(true)),
            ("truncated", W::default().op(code::EQ, 2).int(1)),
            ("op 9 (in_list, 8.1+)", W::default().op(9, 2).int(1).int(1)),
            ("op 200", W::default().op(200, 0)),
            ("empty list", W::default().list(0)),
            (
                "long bin name",
                W::default()
                    .op(code::EQ, 2)
                    .int_bin("sixteen_chars_xx")
                    .int(1),
            ),
            (
                "bin type 10",
                W::default().op(code::EQ, 2).bin("a", 10).int(1),
            ),
            (
                "raw string value",
                W::default().op(code::EQ, 2).bin("a", 3).raw("x"),
            ),
            (
                "mixed math",
                W::default()
                    .op(code::EQ, 2)
                    .op(code::ADD, 2)
                    .int(1)
                    .float(1.0)
                    .int(2),
            ),
            (
                "digest modulo 0",
                W::default()
                    .op(code::EQ, 2)
                    .op(code::DIGEST_MODULO, 1)
                    .int(0)
                    .int(0),
            ),
            (
                "key type float",
                W::default()
                    .op(code::EQ, 2)
                    .op(code::KEY, 1)
                    .int(7)
                    .float(1.0),
            ),
            ("undefined var", W::default().op(code::VAR, 1).raw("x")),
            (
                "var in its own definition",
                W::default()
                    .op(code::LET, 3)
                    .raw("x")
                    .op(code::VAR, 1)
                    .raw("x")
                    .boolean(true),
            ),
            (
                "bad var name",
                W::default().op(code::LET, 3).raw("1x").int(1).boolean(true),
            ),
            (
                "cond default type",
                W::default()
                    .op(code::COND, 3)
                    .boolean(true)
                    .boolean(true)
                    .int(1),
            ),
            (
                "hll compare",
                W::default().op(code::EQ, 2).bin("h", 9).bin("h", 9),
            ),
            ("fixext", W::default().bytes(&[0xd4, 1, 1])),
        ];
        for (what, w) in cases {
            assert!(
                matches!(run(w, &r), Err(ExpError::Malformed(_))),
                "{what} should be malformed"
            );
        }
    }

    #[test]
    fn refused_ops_are_unsupported_and_checked_first_for_form() {
        let r = empty();
        let regex = W::default()
            .op(code::REGEX, 3)
            .int(0)
            .raw("a.*")
            .bin("s", 3);
        assert_eq!(run(regex, &r), Err(ExpError::Unsupported("regex compares")));
        // list_size(list_bin("l")) > 1: [127, 2, 0, [16], [81, 4, "l"]]
        let call = || {
            W::default()
                .op(code::CALL, 4)
                .int(2)
                .int(0)
                .list(1)
                .int(16)
                .bin("l", 4)
        };
        let size_gt = W::default().op(code::GT, 2).bytes(&call().0).int(1);
        assert!(matches!(run(size_gt, &r), Err(ExpError::Unsupported(_))));
        // A call on a bin of the wrong system type is malformed, not unsupported.
        let bad_call = W::default()
            .op(code::GT, 2)
            .op(code::CALL, 4)
            .int(2)
            .int(0)
            .list(1)
            .int(16)
            .int_bin("l")
            .int(1);
        assert!(matches!(run(bad_call, &r), Err(ExpError::Malformed(_))));
    }

    #[test]
    fn arithmetic_matches_the_server() {
        let r = record(vec![("a", Particle::Int(7)), ("f", Particle::Float(2.0))]);
        let eq_int = |lhs: W, v: i64| W::default().op(code::EQ, 2).bytes(&lhs.0).int(v);
        let t = |w: W| run(w, &r).expect("parses");
        assert!(t(eq_int(
            W::default().op(code::ADD, 3).int_bin("a").int(1).int(2),
            10
        )));
        assert!(t(eq_int(W::default().op(code::SUB, 1).int_bin("a"), -7)));
        assert!(t(eq_int(
            W::default().op(code::DIV, 2).int_bin("a").int(2),
            3
        )));
        assert!(t(eq_int(W::default().op(code::DIV, 1).int_bin("a"), 0)));
        assert!(t(eq_int(
            W::default().op(code::MOD, 2).int_bin("a").int(4),
            3
        )));
        assert!(t(eq_int(
            W::default().op(code::MAX, 3).int(1).int_bin("a").int(3),
            7
        )));
        assert!(t(eq_int(
            W::default().op(code::INT_LSCAN, 2).int(1).boolean(true),
            63
        )));
        assert!(t(eq_int(
            W::default().op(code::INT_RSCAN, 2).int(0).boolean(true),
            -1
        )));
        assert!(t(eq_int(W::default().op(code::INT_COUNT, 1).int(7), 3)));
        assert!(t(eq_int(
            W::default().op(code::INT_LSHIFT, 2).int(1).int(65),
            2
        )));
        assert!(t(eq_int(
            W::default()
                .op(code::TO_INT, 1)
                .op(code::POW, 2)
                .bin("f", 7)
                .float(10.0),
            1024
        )));
        // Division or modulo by zero is unknown: neither the test nor its negation holds.
        let div0 = || eq_int(W::default().op(code::DIV, 2).int_bin("a").int(0), 0);
        assert!(!t(div0()));
        assert!(!t(W::default().op(code::NOT, 1).bytes(&div0().0)));
        let mod0 = W::default()
            .op(code::NOT, 1)
            .bytes(&eq_int(W::default().op(code::MOD, 2).int_bin("a").int(0), 0).0);
        assert!(!t(mod0));
    }

    #[test]
    fn cond_and_let_scope_their_values() {
        let r = record(vec![("a", Particle::Int(7))]);
        let t = |w: W| run(w, &r).expect("parses");
        // let(x = a * 2, y = x + 1, y == 15)
        let let_ = W::default()
            .op(code::LET, 5)
            .raw("x")
            .op(code::MUL, 2)
            .int_bin("a")
            .int(2)
            .raw("y")
            .op(code::ADD, 2)
            .op(code::VAR, 1)
            .raw("x")
            .int(1)
            .op(code::EQ, 2)
            .op(code::VAR, 1)
            .raw("y")
            .int(15);
        assert!(t(let_));
        // cond(a > 10, unknown, a > 5, true, false): the unknown branch may have any type.
        let cond = W::default()
            .op(code::COND, 5)
            .op(code::GT, 2)
            .int_bin("a")
            .int(10)
            .unknown()
            .op(code::GT, 2)
            .int_bin("a")
            .int(5)
            .boolean(true)
            .boolean(false);
        assert!(t(cond));
        // A condition that is unknown makes the cond unknown.
        let cond_unknown = W::default()
            .op(code::NOT, 1)
            .op(code::COND, 3)
            .op(code::GT, 2)
            .int_bin("missing")
            .int(10)
            .boolean(true)
            .boolean(false);
        assert!(!t(cond_unknown));
    }

    #[test]
    fn metadata_reads_the_record() {
        let mut r = empty();
        r.void_time = 105;
        r.key = Some((
            crate::aerospike::particle::ptype::INTEGER,
            42i64.to_be_bytes().to_vec(),
        ));
        let eq_int = |op: u64, v: i64| W::default().op(code::EQ, 2).op(op, 0).int(v);
        let t = |w: W| run(w, &r).expect("parses");
        assert!(t(eq_int(code::TTL, 100)));
        assert!(t(eq_int(
            code::VOID_TIME,
            (CITRUSLEAF_EPOCH_NS + 105 * 1_000_000_000) as i64
        )));
        assert!(t(eq_int(code::SINCE_UPDATE, 4_000)));
        assert!(t(eq_int(
            code::LAST_UPDATE,
            (CITRUSLEAF_EPOCH_NS + 1_000 * 1_000_000) as i64
        )));
        assert!(t(eq_int(code::DEVICE_SIZE, 0)));
        // 57 bytes take four 16-byte blocks.
        assert!(t(eq_int(code::RECORD_SIZE, 64)));
        assert!(t(eq_int(code::MEMORY_SIZE, 64)));
        assert!(t(W::default().op(code::KEY_EXISTS, 0)));
        assert!(t(W::default().op(code::NOT, 1).op(code::IS_TOMBSTONE, 0)));
        assert!(t(W::default()
            .op(code::EQ, 2)
            .op(code::SET_NAME, 0)
            .string("s")));
        assert!(t(W::default()
            .op(code::EQ, 2)
            .op(code::KEY, 1)
            .int(2)
            .int(42)));
        // A key of another type than asked for is unknown.
        assert!(!t(W::default()
            .op(code::NOT, 1)
            .op(code::EQ, 2)
            .op(code::KEY, 1)
            .int(3)
            .string("42")));
        r.void_time = 0;
        assert!(run(eq_int(code::TTL, -1), &r).expect("parses"));
        assert!(run(eq_int(code::VOID_TIME, -1), &r).expect("parses"));
        // Digest bytes 16..20 as a little-endian u32, modulo 3.
        let mut digest = [0u8; DIGEST_SIZE];
        digest[16] = 10;
        let w = W::default()
            .op(code::EQ, 2)
            .op(code::DIGEST_MODULO, 1)
            .int(3)
            .int(1);
        assert_eq!(run_on(&w, &r, &digest), Ok(true));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let nested = |depth: usize| {
            let mut w = W::default();
            for _ in 0..depth {
                w = w.op(code::NOT, 1);
            }
            w.boolean(true)
        };
        // On a stack the size of a tokio worker's (2 MiB), in whatever build this is.
        let worker = std::thread::Builder::new().stack_size(2 << 20);
        let handle = worker
            .spawn(move || {
                // MAX_DEPTH - 1 NOTs plus the literal: an even count of NOTs is true.
                let deepest = run(nested(MAX_DEPTH - 1), &empty());
                let too_deep = run(nested(100_000), &empty());
                (deepest, too_deep)
            })
            .expect("spawn");
        let (deepest, too_deep) = handle.join().expect("no stack overflow");
        assert_eq!(deepest, Ok(false), "127 NOTs of true");
        assert!(matches!(too_deep, Err(ExpError::Unsupported(_))));
    }
}
