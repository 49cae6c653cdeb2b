// Copyright 2015-2026 Aerospike, Inc.
//
// Portions may be licensed to Aerospike, Inc. under one or more contributor
// license agreements.
//
// Licensed under the Apache License, Version 2.0 (the "License"); you may not
// use this file except in compliance with the License. You may obtain a copy of
// the License at http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
// WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
// License for the specific language governing permissions and limitations under
// the License.

//! Functions used for Filter Expressions. This module requires Aerospike Server version >= 5.2

/// Server-compiled AEL (Aerospike Expression Language) filters: the client
/// packs the text and the server parses it (8.2.0+).
pub mod ael;
pub mod bitwise;
pub mod hll;
pub mod lists;
pub mod maps;
pub mod regex_flag;
pub use regex_flag::RegexFlags;
pub mod string;

pub use ael::from_ael;
#[doc(hidden)]
pub use ael::pack_ael_server_filter;
#[doc(hidden)]
pub use ael::SERVER_COMPILED_AEL_EXPRESSION_OP;
use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};

use crate::commands::buffer::Buffer;
use crate::msgpack::encoder::{
    pack_array_begin, pack_integer, pack_raw_string, pack_value, pack_value_canonical,
};
use crate::operations::cdt_context::CdtContext;
use crate::value::MapLike;
use crate::{Error, Result};
use crate::{ParticleType, Value};
use std::fmt::Debug;

/// Expression data types for use in filter expressions on Map and List operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpType {
    /// Nil.
    Nil = 0,
    /// Boolean.
    Bool = 1,
    /// Integer.
    Int = 2,
    /// String.
    String = 3,
    /// List.
    List = 4,
    /// Map.
    Map = 5,
    /// Blob (bytes).
    Blob = 6,
    /// Float.
    Float = 7,
    /// Geospatial value (a `GeoJSON` string).
    Geo = 8,
    /// `HyperLogLog` sketch.
    Hll = 9,
}

#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ExpOp {
    Unknown = 0,
    EQ = 1,
    NE = 2,
    GT = 3,
    GE = 4,
    LT = 5,
    LE = 6,
    Regex = 7,
    Geo = 8,
    InList = 9,
    And = 16,
    Or = 17,
    Not = 18,
    Xor = 19,
    Add = 20,
    Sub = 21,
    Mul = 22,
    Div = 23,
    Pow = 24,
    Log = 25,
    Mod = 26,
    Abs = 27,
    Floor = 28,
    Ceil = 29,
    ToInt = 30,
    ToFloat = 31,
    IntAnd = 32,
    IntOr = 33,
    IntXor = 34,
    IntNot = 35,
    IntLshift = 36,
    IntRshift = 37,
    IntARshift = 38,
    IntCount = 39,
    IntLscan = 40,
    IntRscan = 41,
    Min = 50,
    Max = 51,
    DigestModulo = 64,
    // 65 DEVICE_SIZE and 73 MEMORY_SIZE are the pre-7.0 size expressions;
    // the client builds RECORD_SIZE instead.
    LastUpdate = 66,
    SinceUpdate = 67,
    VoidTime = 68,
    TTL = 69,
    SetName = 70,
    KeyExists = 71,
    IsTombstone = 72,
    RecordSize = 74,
    Key = 80,
    Bin = 81,
    BinType = 82,
    ToString = 99,
    ResultRemove = 100,
    MapKeys = 101,
    MapValues = 102,
    VarBuiltIn = 122,
    Cond = 123,
    Var = 124,
    Let = 125,
    Quoted = 126,
    Call = 127,
}

pub(crate) const MODIFY: i64 = 0x40;

// `Value` is the common argument; boxing it would cost an allocation per node.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExpressionArgument {
    Value(Value),
    FilterExpression(Expression),
    Context(Vec<CdtContext>),
    CdtSelectPathArg(crate::operations::path::SelectFlag, Vec<CdtContext>),
    CdtModifyPathArg(
        crate::operations::path::ModifyFlag,
        Expression,
        Expression,
        Vec<CdtContext>,
    ),
    // Inline `[QUOTED, [exps...]]` literal inside a Call args list. Used by
    // string-expression replace/replaceAll/regexReplace to mark the
    // (needle, replacement) pair as a literal so the server's expression
    // compiler does not recursively interpret it as a sub-expression.
    QuotedExpressions(Vec<Expression>),
}

/// Identifies which element of a loop variable to use in path expressions.
/// Requires Aerospike Server version >= 8.1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopVarPart(i64);

impl LoopVarPart {
    /// Map key part of the loop variable.
    pub const MAP_KEY: LoopVarPart = LoopVarPart(0);
    /// Value part of the loop variable (list element or map value).
    pub const VALUE: LoopVarPart = LoopVarPart(1);
    /// Index part of the loop variable (list index).
    pub const INDEX: LoopVarPart = LoopVarPart(2);

    /// A part from its raw server value, for a part the server supports
    /// before this client names it.
    #[must_use]
    pub const fn from_bits(bits: i64) -> Self {
        LoopVarPart(bits)
    }

    /// The raw value sent to the server.
    #[must_use]
    pub const fn bits(self) -> i64 {
        self.0
    }
}

/// Filter expression, which can be applied to most commands to control which records are affected.
///
/// Filter expressions are created using the functions in the
/// [expressions](crate::expressions) module and its submodules.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    /// The Operation code
    cmd: Option<ExpOp>,
    /// The Primary Value of the Operation
    val: Option<Value>,
    /// The Bin to use it on (REGEX for example)
    bin: Option<Box<Expression>>,
    /// The additional flags for the Operation (REGEX or `return_type` of Module for example)
    flags: Option<i64>,
    /// The optional Module flag for Module operations or Bin Types
    module: Option<ExpType>,
    /// Sub commands for the `CmdExp` operation
    exps: Option<Vec<Expression>>,
    /// Optional Arguments (CDT)
    arguments: Option<Vec<ExpressionArgument>>,
    /// Pre-packed expression bytes (used by [`from_base64`]).
    bytes: Option<Vec<u8>>,
}

impl Expression {
    pub(crate) fn new(
        cmd: Option<ExpOp>,
        val: Option<Value>,
        bin: Option<Expression>,
        flags: Option<i64>,
        module: Option<ExpType>,
        exps: Option<Vec<Expression>>,
    ) -> Expression {
        let bin = bin.map(Box::new);
        Expression {
            cmd,
            val,
            bin,
            flags,
            module,
            exps,
            arguments: None,
            bytes: None,
        }
    }

    fn pack_expression(&self, exps: &[Expression], buf: &mut Option<&mut Buffer>) -> Result<usize> {
        let mut size = 0;
        if let Some(val) = &self.val {
            // DEF expression
            let Some(def) = exps.first() else {
                return Err(Error::invalid_argument("def expression without a value"));
            };
            size += pack_raw_string(buf, &val.to_string());
            size += def.pack(buf)?;
        } else {
            // Normal Expressions
            match self.cmd.unwrap() {
                ExpOp::Let => {
                    // Let wire format: LET <defname1>, <defexp1>, <defname2>, <defexp2>, ..., <scope exp>
                    let Some(defs) = exps.len().checked_sub(1) else {
                        return Err(Error::invalid_argument(
                            "let expression without a scope expression",
                        ));
                    };
                    let count = defs * 2 + 2;
                    size += pack_array_begin(buf, count);
                }
                _ => {
                    size += pack_array_begin(buf, exps.len() + 1);
                }
            }
            size += pack_integer(buf, self.cmd.unwrap() as i64);
            for exp in exps {
                size += exp.pack(buf)?;
            }
        }
        Ok(size)
    }

    fn pack_command(&self, cmd: ExpOp, buf: &mut Option<&mut Buffer>) -> Result<usize> {
        let mut size = 0;

        match cmd {
            ExpOp::Regex => {
                size += pack_array_begin(buf, 4);
                // The Operation
                size += pack_integer(buf, cmd as i64);
                // Regex Flags
                size += pack_integer(buf, self.flags.unwrap());
                // Raw String is needed instead of the msgpack String that the pack_value method would use.
                size += pack_raw_string(buf, &self.val.clone().unwrap().to_string());
                // The Bin
                size += self.bin.clone().unwrap().pack(buf)?;
            }
            ExpOp::Call => {
                // Packing logic for Module
                size += pack_array_begin(buf, 5);
                // The Operation
                size += pack_integer(buf, cmd as i64);
                // The Module Operation
                size += pack_integer(buf, self.module.unwrap() as i64);
                // The Module (List/Map or Bitwise)
                size += pack_integer(buf, self.flags.unwrap());
                // Encoding the Arguments
                // bin_from_arg is set when CdtModifyPathArg is encountered; its bin_exp
                // is written as the Call's bin instead of self.bin (which is None for that case).
                let mut bin_from_arg: Option<&Expression> = None;
                if let Some(args) = &self.arguments {
                    let mut len = 0;
                    for arg in args {
                        // First match to estimate the Size and write the Context
                        match arg {
                            ExpressionArgument::Value(_)
                            | ExpressionArgument::FilterExpression(_)
                            | ExpressionArgument::QuotedExpressions(_) => len += 1,
                            // Path args are written as direct elements: [0xfe, flat_ctx, flag, ...]
                            ExpressionArgument::CdtSelectPathArg(_, _) => len += 3,
                            ExpressionArgument::CdtModifyPathArg(_, _, _, _) => len += 4,
                            ExpressionArgument::Context(ctx) => {
                                if !ctx.is_empty() {
                                    size += pack_array_begin(buf, 3);
                                    size += pack_integer(buf, 0xff);
                                    size += pack_array_begin(buf, ctx.len() * 2);

                                    for c in ctx {
                                        size += pack_integer(buf, i64::from(c.id));
                                        if let Some(ref exp) = c.expression {
                                            size += exp.pack_binary(buf)?;
                                        } else {
                                            size += pack_value(buf, &c.value)?;
                                        }
                                    }
                                }
                            }
                        }
                    }
                    size += pack_array_begin(buf, len);
                    // Second match to write the real values
                    for arg in args {
                        match arg {
                            ExpressionArgument::Value(val) => {
                                size += pack_value(buf, val)?;
                            }
                            ExpressionArgument::FilterExpression(cmd) => {
                                size += cmd.pack(buf)?;
                            }
                            ExpressionArgument::CdtSelectPathArg(flag, ctx) => {
                                // Write [0xfe, flat_ctx, flag] as 3 direct args
                                size += pack_integer(buf, 0xfe);
                                size += pack_flat_ctx(buf, ctx)?;
                                size += pack_integer(buf, flag.bits());
                            }
                            ExpressionArgument::CdtModifyPathArg(
                                flag,
                                bin_exp,
                                modify_exp,
                                ctx,
                            ) => {
                                // Write [0xfe, flat_ctx, flag|0x04, modify_exp] as 4 direct args
                                size += pack_integer(buf, 0xfe);
                                size += pack_flat_ctx(buf, ctx)?;
                                size += pack_integer(buf, flag.bits() | 0x04);
                                size += modify_exp.pack(buf)?;
                                bin_from_arg = Some(bin_exp);
                            }
                            ExpressionArgument::QuotedExpressions(exps) => {
                                // Emit [QUOTED, [exps...]] as a single element.
                                size += pack_array_begin(buf, 2);
                                size += pack_integer(buf, ExpOp::Quoted as i64);
                                size += pack_array_begin(buf, exps.len());
                                for exp in exps {
                                    size += exp.pack(buf)?;
                                }
                            }
                            ExpressionArgument::Context(_) => {}
                        }
                    }
                } else {
                    // No Arguments
                    size += pack_value(buf, &self.val.clone().unwrap())?;
                }
                // Write the Bin (5th element of the Call array)
                if let Some(bin) = bin_from_arg {
                    size += bin.pack(buf)?;
                } else {
                    size += self.bin.clone().unwrap().pack(buf)?;
                }
            }
            ExpOp::VarBuiltIn => {
                // Loop variable built-in: array[3]: [122, ExpType, LoopVarPart]
                size += pack_array_begin(buf, 3);
                size += pack_integer(buf, cmd as i64);
                size += pack_integer(buf, self.flags.unwrap()); // ExpType value
                size += pack_value(buf, self.val.as_ref().unwrap())?; // LoopVarPart
            }
            ExpOp::Bin => {
                // Bin Encoder
                size += pack_array_begin(buf, 3);
                // The Bin Operation
                size += pack_integer(buf, cmd as i64);
                // The Bin Type (INT/String etc.)
                size += pack_integer(buf, self.module.unwrap() as i64);
                // The name - Raw String is needed instead of the msgpack String that the pack_value method would use.
                size += pack_raw_string(buf, &self.val.clone().unwrap().to_string());
            }
            ExpOp::BinType | ExpOp::Var => {
                // BinType/Var encoder
                size += pack_array_begin(buf, 2);
                // BinType/Var Operation
                size += pack_integer(buf, cmd as i64);
                // The name - Raw String is needed instead of the msgpack String that the pack_value method would use.
                size += pack_raw_string(buf, &self.val.clone().unwrap().to_string());
            }
            _ => {
                // Packing logic for all other Ops
                if let Some(value) = &self.val {
                    // Operation has a Value
                    size += pack_array_begin(buf, 2);
                    // Write the Operation
                    size += pack_integer(buf, cmd as i64);
                    // Write the Value
                    size += pack_value(buf, value)?;
                } else {
                    // Operation has no Value
                    size += pack_array_begin(buf, 1);
                    // Write the Operation
                    size += pack_integer(buf, cmd as i64);
                }
            }
        }

        Ok(size)
    }

    fn pack_value(&self, buf: &mut Option<&mut Buffer>) -> Result<usize> {
        // Packing logic for Value based Ops. Map literals must be packed in
        // canonical (key-sorted) form: servers with AER-6930 (8.1.2.3+)
        // require it, and whole-map comparisons silently fail otherwise.
        pack_value_canonical(buf, &self.val.clone().unwrap())
    }

    /// Returns the packed size of the expression.
    pub(crate) fn size(&self) -> Result<usize> {
        self.pack(&mut None)
    }

    /// Packs the expression.
    pub(crate) fn pack(&self, buf: &mut Option<&mut Buffer>) -> Result<usize> {
        if let Some(bytes) = &self.bytes {
            if let Some(buf) = buf {
                return Ok(buf.write_bytes(bytes));
            }
            return Ok(bytes.len());
        }

        let mut size = 0;
        if let Some(exps) = &self.exps {
            size += self.pack_expression(exps, buf)?;
        } else if let Some(cmd) = self.cmd {
            size += self.pack_command(cmd, buf)?;
        } else {
            size += self.pack_value(buf)?;
        }

        Ok(size)
    }

    /// Encode the expression to a base64 string.
    pub fn base64(&self) -> Result<String> {
        let sz = self.size()?;
        let mut buf = Buffer::new(sz);
        buf.resize_buffer(sz)?;
        self.pack(&mut Some(&mut buf))?;
        Ok(BASE64.encode(&buf.data_buffer[..buf.data_offset]))
    }

    /// Packs this expression wrapped in a msgpack binary value (bin8/bin16/bin32 format).
    /// Used when an expression context needs to be encoded as binary bytes within CDT operations.
    /// Calls `size()` to determine the expression size without pre-allocating, then writes
    /// the binary header and the expression bytes lazily.
    pub(crate) fn pack_binary(&self, buf: &mut Option<&mut Buffer>) -> Result<usize> {
        let exp_size = self.size()?;
        let header_size = if exp_size < 256 {
            if let Some(ref mut b) = *buf {
                b.write_u8(0xc4);
                b.write_u8(exp_size as u8);
            }
            2
        } else if exp_size < 65536 {
            if let Some(ref mut b) = *buf {
                b.write_u8(0xc5);
                b.write_u16(exp_size as u16);
            }
            3
        } else {
            if let Some(ref mut b) = *buf {
                b.write_u8(0xc6);
                b.write_u32(exp_size as u32);
            }
            5
        };
        self.pack(buf)?;
        Ok(header_size + exp_size)
    }
}

/// Creates a record key expression of specified type.
/// ```
/// use aerospike::expressions::{ExpType, ge, int_val, key};
/// // Integer record key >= 100000
/// let _ = ge(key(ExpType::Int), int_val(10000));
/// ```
#[must_use]
pub fn key(exp_type: ExpType) -> Expression {
    Expression::new(
        Some(ExpOp::Key),
        Some(Value::from(exp_type as i64)),
        None,
        None,
        None,
        None,
    )
}

/// Creates an expression from a base64-encoded expression string.
pub fn from_base64(b64: &str) -> Result<Expression> {
    let bytes = BASE64
        .decode(b64)
        .map_err(|e| Error::bad_response(format!("Invalid base64 expression: {e}")))?;
    Ok(from_packed_bytes(bytes))
}

/// Build an expression from already-packed wire bytes.
///
/// Used when restoring
/// an expression-form CDT context entry from `ctx_from_bytes` — we don't
/// re-parse the expression structure, we just keep the raw bytes so a
/// later pack emits them verbatim. Mirrors what `from_base64` does, minus
/// the base64 decode.
#[must_use]
pub const fn from_packed_bytes(bytes: Vec<u8>) -> Expression {
    Expression {
        cmd: None,
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: None,
        arguments: None,
        bytes: Some(bytes),
    }
}

/// Creates an expression that returns whether the primary key is stored in the record meta data.
///
/// This would occur when [`WritePolicy::send_key`](crate::WritePolicy::send_key) is true on record write.
/// ```
/// // Key exists in record meta data
/// use aerospike::expressions::key_exists;
/// let _ = key_exists();
/// ```
#[must_use]
pub fn key_exists() -> Expression {
    Expression::new(Some(ExpOp::KeyExists), None, None, None, None, None)
}

/// Creates 64 bit int bin expression.
/// ```
/// // Integer bin "a" == 500
/// use aerospike::expressions::{int_bin, int_val, eq};
/// let _ = eq(int_bin("a".to_string()), int_val(500));
/// ```
/// Creates a bin expression with an explicitly supplied value type.
/// Prefer the typed accessors (`int_bin`, `string_bin`, …) when the bin
/// type is known at compile time; this generic form is for callers whose
/// bin types are only known at run time.
#[must_use]
pub fn bin(name: impl Into<String>, exp_type: ExpType) -> Expression {
    Expression::new(
        Some(ExpOp::Bin),
        Some(Value::String(name.into())),
        None,
        None,
        Some(exp_type),
        None,
    )
}

/// Creates integer bin expression.
/// ```
/// // Integer bin "a" == 500
/// use aerospike::expressions::{eq, int_bin, int_val};
/// let _ = eq(int_bin("a".to_string()), int_val(500));
/// ```
#[must_use]
pub fn int_bin(name: impl Into<String>) -> Expression {
    Expression::new(
        Some(ExpOp::Bin),
        Some(Value::String(name.into())),
        None,
        None,
        Some(ExpType::Int),
        None,
    )
}

/// Creates boolean bin expression.
/// ```
/// // Boolean bin "a" == true
/// use aerospike::expressions::{bool_bin, bool_val, eq};
/// let _ = eq(bool_bin("a".to_string()), bool_val(true));
/// ```
#[must_use]
pub fn bool_bin(name: impl Into<String>) -> Expression {
    Expression::new(
        Some(ExpOp::Bin),
        Some(Value::String(name.into())),
        None,
        None,
        Some(ExpType::Bool),
        None,
    )
}

/// Creates string bin expression.
/// ```
/// // String bin "a" == "views"
/// use aerospike::expressions::{eq, string_bin, string_val};
/// let _ = eq(string_bin("a".to_string()), string_val("views".to_string()));
/// ```
#[must_use]
pub fn string_bin(name: impl Into<String>) -> Expression {
    Expression::new(
        Some(ExpOp::Bin),
        Some(Value::String(name.into())),
        None,
        None,
        Some(ExpType::String),
        None,
    )
}

/// Creates blob bin expression.
/// ```
/// // String bin "a" == [1,2,3]
/// use aerospike::expressions::{eq, blob_bin, blob_val};
/// let blob: Vec<u8> = vec![1,2,3];
/// let _ = eq(blob_bin("a".to_string()), blob_val(blob));
/// ```
#[must_use]
pub fn blob_bin(name: impl Into<String>) -> Expression {
    Expression::new(
        Some(ExpOp::Bin),
        Some(Value::String(name.into())),
        None,
        None,
        Some(ExpType::Blob),
        None,
    )
}

/// Creates 64 bit float bin expression.
/// ```
/// use aerospike::expressions::{float_val, float_bin, eq};
/// // Integer bin "a" == 500.5
/// let _ = eq(float_bin("a".to_string()), float_val(500.5));
/// ```
#[must_use]
pub fn float_bin(name: impl Into<String>) -> Expression {
    Expression::new(
        Some(ExpOp::Bin),
        Some(Value::String(name.into())),
        None,
        None,
        Some(ExpType::Float),
        None,
    )
}

/// Creates geo bin expression.
/// ```
/// // String bin "a" == region
/// use aerospike::expressions::{eq, geo_bin, string_val};
/// let region = "{ \"type\": \"AeroCircle\", \"coordinates\": [[-122.0, 37.5], 50000.0] }";
/// let _ = eq(geo_bin("a".to_string()), string_val(region.to_string()));
/// ```
#[must_use]
pub fn geo_bin(name: impl Into<String>) -> Expression {
    Expression::new(
        Some(ExpOp::Bin),
        Some(Value::String(name.into())),
        None,
        None,
        Some(ExpType::Geo),
        None,
    )
}

/// Creates list bin expression.
/// ```
/// use aerospike::expressions::{ExpType, eq, int_val, list_bin};
/// use aerospike::operations::lists::ListReturnType;
/// use aerospike::expressions::lists::get_by_index;
/// // String bin a[2] == 3
/// let _ = eq(get_by_index(ListReturnType::VALUES, ExpType::Int, int_val(2), list_bin("a".to_string()), &[]), int_val(3));
/// ```
#[must_use]
pub fn list_bin(name: impl Into<String>) -> Expression {
    Expression::new(
        Some(ExpOp::Bin),
        Some(Value::String(name.into())),
        None,
        None,
        Some(ExpType::List),
        None,
    )
}

/// Creates map bin expression.
///
/// ```
/// // Bin a["key"] == "value"
/// use aerospike::expressions::{ExpType, string_val, map_bin, eq};
/// use aerospike::MapReturnType;
/// use aerospike::expressions::maps::get_by_key;
///
/// let _ = eq(
///     get_by_key(MapReturnType::VALUE, ExpType::String, string_val("key".to_string()), map_bin("a".to_string()), &[]),
///     string_val("value".to_string()));
/// ```
#[must_use]
pub fn map_bin(name: impl Into<String>) -> Expression {
    Expression::new(
        Some(ExpOp::Bin),
        Some(Value::String(name.into())),
        None,
        None,
        Some(ExpType::Map),
        None,
    )
}

/// Creates an HLL bin expression.
///
/// ```
/// use aerospike::expressions::{gt, list_val, hll_bin, int_val};
/// use aerospike::operations::hll::HllPolicy;
/// use aerospike::Value;
/// use aerospike::expressions::hll::add;
///
/// // Add values to HLL bin "a" and check count > 7
/// let list = vec![Value::from(1)];
/// let _ = gt(add(HllPolicy::default(), list_val(list), hll_bin("a".to_string())), int_val(7));
/// ```
#[must_use]
pub fn hll_bin(name: impl Into<String>) -> Expression {
    Expression::new(
        Some(ExpOp::Bin),
        Some(Value::String(name.into())),
        None,
        None,
        Some(ExpType::Hll),
        None,
    )
}

/// Creates an expression that returns if bin of specified name exists.
/// ```
/// // Bin "a" exists in record
/// use aerospike::expressions::bin_exists;
/// let _ = bin_exists("a".to_string());
/// ```
#[must_use]
pub fn bin_exists(name: impl Into<String>) -> Expression {
    ne(bin_type(name), int_val(ParticleType::Null as i64))
}

/// Creates an expression that returns bin's integer particle type.
/// ```
/// use aerospike::ParticleType;
/// use aerospike::expressions::{eq, bin_type, int_val};
/// // Bin "a" particle type is a list
/// let _ = eq(bin_type("a".to_string()), int_val(ParticleType::List as i64));
/// ```
#[must_use]
pub fn bin_type(name: impl Into<String>) -> Expression {
    Expression::new(
        Some(ExpOp::BinType),
        Some(Value::String(name.into())),
        None,
        None,
        None,
        None,
    )
}

/// Creates an expression that returns record set name string.
/// ```
/// use aerospike::expressions::{eq, set_name, string_val};
/// // Record set name == "myset
/// let _ = eq(set_name(), string_val("myset".to_string()));
/// ```
#[must_use]
pub fn set_name() -> Expression {
    Expression::new(Some(ExpOp::SetName), None, None, None, None, None)
}

/// Creates expression that returns the record size. This expression usually evaluates
/// quickly because record meta data is cached in memory.
///
/// Requires server version 7.0+, where it replaces the older `device_size` and
/// `memory_size` expressions (equivalent there, deprecated by the server since 8.1).
///
/// ```
/// use aerospike::expressions::{ge, record_size, int_val};
/// // Record device size >= 100 KB
/// let _ = ge(record_size(), int_val(100*1024));
/// ```
#[must_use]
pub fn record_size() -> Expression {
    Expression::new(Some(ExpOp::RecordSize), None, None, None, None, None)
}

/// Creates an expression that returns record last update time expressed as 64 bit integer
/// nanoseconds since 1970-01-01 epoch.
/// ```
/// // Record last update time >=2020-08-01
/// use aerospike::expressions::{ge, last_update, float_val};
/// let _ = ge(last_update(), float_val(1.5962E+18));
/// ```
#[must_use]
pub fn last_update() -> Expression {
    Expression::new(Some(ExpOp::LastUpdate), None, None, None, None, None)
}

/// Creates expression that returns milliseconds since the record was last updated.
/// This expression usually evaluates quickly because record meta data is cached in memory.
///
/// ```
/// // Record last updated more than 2 hours ago
/// use aerospike::expressions::{gt, int_val, since_update};
/// let _ = gt(since_update(), int_val(2 * 60 * 60 * 1000));
/// ```
#[must_use]
pub fn since_update() -> Expression {
    Expression::new(Some(ExpOp::SinceUpdate), None, None, None, None, None)
}

/// Creates an expression that returns record expiration time expressed as 64 bit integer
/// nanoseconds since 1970-01-01 epoch.
/// ```
/// // Expires on 2020-08-01
/// use aerospike::expressions::{and, ge, last_update, float_val, lt};
/// let _ = and(vec![ge(last_update(), float_val(1.5962E+18)), lt(last_update(), float_val(1.5963E+18))]);
/// ```
#[must_use]
pub fn void_time() -> Expression {
    Expression::new(Some(ExpOp::VoidTime), None, None, None, None, None)
}

/// Creates an expression that returns record expiration time (time to live) in integer seconds.
/// ```
/// // Record expires in less than 1 hour
/// use aerospike::expressions::{lt, ttl, int_val};
/// let _ = lt(ttl(), int_val(60*60));
/// ```
#[must_use]
pub fn ttl() -> Expression {
    Expression::new(Some(ExpOp::TTL), None, None, None, None, None)
}

/// Creates expression that returns if record has been deleted and is still in tombstone state.
/// This expression usually evaluates quickly because record meta data is cached in memory.
///
/// ```
/// // Deleted records that are in tombstone state.
/// use aerospike::expressions::{is_tombstone};
/// let _ = is_tombstone();
/// ```
#[must_use]
pub fn is_tombstone() -> Expression {
    Expression::new(Some(ExpOp::IsTombstone), None, None, None, None, None)
}
/// Creates an expression that returns record digest modulo as integer.
/// ```
/// // Records that have digest(key) % 3 == 1
/// use aerospike::expressions::{int_val, eq, digest_modulo};
/// let _ = eq(digest_modulo(3), int_val(1));
/// ```
#[must_use]
pub fn digest_modulo(modulo: i64) -> Expression {
    Expression::new(
        Some(ExpOp::DigestModulo),
        Some(Value::from(modulo)),
        None,
        None,
        None,
        None,
    )
}

/// Creates a regular expression string comparison expression.
/// ```
/// use aerospike::RegexFlags;
/// use aerospike::expressions::{regex_compare, string_bin};
/// // Select string bin "a" that starts with "prefix" and ends with "suffix".
/// // Ignore case and do not match newline.
/// let _ = regex_compare(
///     "prefix.*suffix".to_string(),
///     RegexFlags::ICASE | RegexFlags::NEWLINE,
///     string_bin("a".to_string()),
/// );
/// ```
#[must_use]
pub fn regex_compare(regex: impl Into<String>, flags: RegexFlags, bin: Expression) -> Expression {
    Expression::new(
        Some(ExpOp::Regex),
        Some(Value::String(regex.into())),
        Some(bin),
        Some(flags.bits()),
        None,
        None,
    )
}

/// Creates a geospatial comparison expression.
/// ```
/// use aerospike::expressions::{geo_compare, geo_bin, geo_val};
/// // Query region within coordinates.
/// let region = "{\"type\": \"Polygon\", \"coordinates\": [ [[-122.500000, 37.000000],[-121.000000, 37.000000], [-121.000000, 38.080000],[-122.500000, 38.080000], [-122.500000, 37.000000]] ] }";
/// let _ = geo_compare(geo_bin("a".to_string()), geo_val(region.to_string()));
/// ```
#[must_use]
pub fn geo_compare(left: Expression, right: Expression) -> Expression {
    Expression::new(
        Some(ExpOp::Geo),
        None,
        None,
        None,
        None,
        Some(vec![left, right]),
    )
}

/// Creates a 64-bit integer value.
#[must_use]
pub fn int_val(val: i64) -> Expression {
    Expression::new(None, Some(Value::from(val)), None, None, None, None)
}

/// Creates a boolean value.
#[must_use]
pub fn bool_val(val: bool) -> Expression {
    Expression::new(None, Some(Value::from(val)), None, None, None, None)
}

/// Creates a string bin value.
#[must_use]
pub fn string_val(val: impl Into<String>) -> Expression {
    Expression::new(None, Some(Value::String(val.into())), None, None, None, None)
}

/// Creates a 64-bit float bin value.
#[must_use]
pub fn float_val(val: f64) -> Expression {
    Expression::new(None, Some(Value::from(val)), None, None, None, None)
}

/// Creates a blob bin value.
#[must_use]
pub fn blob_val(val: Vec<u8>) -> Expression {
    Expression::new(None, Some(Value::from(val)), None, None, None, None)
}

/// Creates a list bin value.
#[must_use]
pub fn list_val(val: Vec<Value>) -> Expression {
    Expression::new(
        Some(ExpOp::Quoted),
        Some(Value::from(val)),
        None,
        None,
        None,
        None,
    )
}

/// Creates a map bin value. Accepts any of the three map collection
/// types — `HashMap`, `IndexMap` or `BTreeMap` — via
/// [`MapLike`].
///
/// To compare whole maps in an expression (`eq`, `lt`, … — supported for
/// ordered maps since server 6.3), pass a `BTreeMap`: it is packed with
/// the K-ordered wire flag, and comparisons against a K-ordered bin then
/// follow the canonical map order (length first, then entry-wise).
/// `HashMap`/`IndexMap` literals are packed in canonical (key-sorted)
/// form without the flag; comparisons involving an unordered operand on
/// either side require server AER-6930 (8.1.2.3+).
#[allow(clippy::implicit_hasher)]
pub fn map_val<M: MapLike<Value, Value>>(val: M) -> Expression {
    Expression::new(
        None,
        Some(Value::from(val.into_map())),
        None,
        None,
        None,
        None,
    )
}

/// Creates a geospatial JSON string value.
#[must_use]
pub fn geo_val(val: impl Into<String>) -> Expression {
    Expression::new(None, Some(Value::GeoJson(val.into())), None, None, None, None)
}

/// Creates a nil value.
#[must_use]
pub fn nil() -> Expression {
    Expression::new(None, Some(Value::Nil), None, None, None, None)
}

/// Creates an infinity value.
#[must_use]
pub fn infinity() -> Expression {
    Expression::new(None, Some(Value::Infinity), None, None, None, None)
}

/// Creates a wildcard value.
#[must_use]
pub fn wildcard() -> Expression {
    Expression::new(None, Some(Value::Wildcard), None, None, None, None)
}

/// Creates "not" operator expression.
/// ```
/// // ! (a == 0 || a == 10)
/// use aerospike::expressions::{not, or, eq, int_bin, int_val};
/// let _ = not(or(vec![eq(int_bin("a".to_string()), int_val(0)), eq(int_bin("a".to_string()), int_val(10))]));
/// ```
#[must_use]
pub fn not(exp: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::Not),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![exp]),
        arguments: None,
        bytes: None,
    }
}

/// Creates "and" (&&) operator that applies to a variable number of expressions.
/// ```
/// // (a > 5 || a == 0) && b < 3
/// use aerospike::expressions::{and, or, gt, int_bin, int_val, eq, lt};
/// let _ = and(vec![or(vec![gt(int_bin("a".to_string()), int_val(5)), eq(int_bin("a".to_string()), int_val(0))]), lt(int_bin("b".to_string()), int_val(3))]);
/// ```
#[must_use]
pub const fn and(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::And),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates "or" (||) operator that applies to a variable number of expressions.
/// ```
/// // a == 0 || b == 0
/// use aerospike::expressions::{or, eq, int_bin, int_val};
/// let _ = or(vec![eq(int_bin("a".to_string()), int_val(0)), eq(int_bin("b".to_string()), int_val(0))]);
/// ```
#[must_use]
pub const fn or(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Or),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates "xor" (^) operator that applies to a variable number of expressions.
/// ```
/// // a == 0 ^ b == 0
/// use aerospike::expressions::{xor, eq, int_bin, int_val};
/// let _ = xor(vec![eq(int_bin("a".to_string()), int_val(0)), eq(int_bin("b".to_string()), int_val(0))]);
/// ```
#[must_use]
pub const fn xor(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Xor),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates an "exclusive" operator: true when exactly one of the
/// expressions is true (alias of [`xor`] — both compile to the same server
/// opcode).
/// ```
/// // exactly one of a == 0, b == 0
/// use aerospike::expressions::{exclusive, eq, int_bin, int_val};
/// let _ = exclusive(vec![eq(int_bin("a".to_string()), int_val(0)), eq(int_bin("b".to_string()), int_val(0))]);
/// ```
#[must_use]
pub const fn exclusive(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Xor),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates equal (==) expression.
/// ```
/// // a == 11
/// use aerospike::expressions::{eq, int_bin, int_val};
/// let _ = eq(int_bin("a".to_string()), int_val(11));
/// ```
#[must_use]
pub fn eq(left: Expression, right: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::EQ),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![left, right]),
        arguments: None,
        bytes: None,
    }
}

/// Creates not equal (!=) expression
/// ```
/// // a != 13
/// use aerospike::expressions::{ne, int_bin, int_val};
/// let _ = ne(int_bin("a".to_string()), int_val(13));
/// ```
#[must_use]
pub fn ne(left: Expression, right: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::NE),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![left, right]),
        arguments: None,
        bytes: None,
    }
}

/// Creates greater than (>) operation.
/// ```
/// // a > 8
/// use aerospike::expressions::{gt, int_bin, int_val};
/// let _ = gt(int_bin("a".to_string()), int_val(8));
/// ```
#[must_use]
pub fn gt(left: Expression, right: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::GT),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![left, right]),
        arguments: None,
        bytes: None,
    }
}

/// Creates greater than or equal (>=) operation.
/// ```
/// use aerospike::expressions::{ge, int_bin, int_val};
/// // a >= 88
/// let _ = ge(int_bin("a".to_string()), int_val(88));
/// ```
#[must_use]
pub fn ge(left: Expression, right: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::GE),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![left, right]),
        arguments: None,
        bytes: None,
    }
}

/// Creates less than (<) operation.
/// ```
/// // a < 1000
/// use aerospike::expressions::{lt, int_bin, int_val};
/// let _ = lt(int_bin("a".to_string()), int_val(1000));
/// ```
#[must_use]
pub fn lt(left: Expression, right: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::LT),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![left, right]),
        arguments: None,
        bytes: None,
    }
}

/// Creates less than or equals (<=) operation.
/// ```
/// use aerospike::expressions::{le, int_bin, int_val};
/// // a <= 1
/// let _ = le(int_bin("a".to_string()), int_val(1));
/// ```
#[must_use]
pub fn le(left: Expression, right: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::LE),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![left, right]),
        arguments: None,
        bytes: None,
    }
}

/// Creates "add" (+) operator that applies to a variable number of expressions.
///
/// Return sum of all `FilterExpressions` given. All arguments must resolve to the same type (integer or float).
/// Requires server version 5.6.0+.
/// ```
/// use aerospike::expressions::{eq, num_add, int_bin, int_val};
/// // a + b + c == 10
/// let _ = eq(num_add(vec![int_bin("a".to_string()), int_bin("b".to_string()), int_bin("c".to_string())]), int_val(10));
/// ```
#[must_use]
pub const fn num_add(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Add),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates "subtract" (-) operator that applies to a variable number of expressions.
///
/// If only one `FilterExpressions` is provided, return the negation of that argument.
/// Otherwise, return the sum of the 2nd to Nth `FilterExpressions` subtracted from the 1st
/// `FilterExpressions`. All `FilterExpressions` must resolve to the same type (integer or float).
/// Requires server version 5.6.0+.
/// ```
/// use aerospike::expressions::{gt, num_sub, int_bin, int_val};
/// // a - b - c > 10
/// let _ = gt(num_sub(vec![int_bin("a".to_string()), int_bin("b".to_string()), int_bin("c".to_string())]), int_val(10));
/// ```
#[must_use]
pub const fn num_sub(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Sub),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates "multiply" (*) operator that applies to a variable number of expressions.
///
/// Return the product of all `FilterExpressions`. If only one `FilterExpressions` is supplied, return
/// that `FilterExpressions`. All `FilterExpressions` must resolve to the same type (integer or float).
/// Requires server version 5.6.0+.
/// ```
/// use aerospike::expressions::{lt, num_mul, int_val, int_bin};
/// // a * b * c < 100
/// let _ = lt(num_mul(vec![int_bin("a".to_string()), int_bin("b".to_string()), int_bin("c".to_string())]), int_val(100));
/// ```
#[must_use]
pub const fn num_mul(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Mul),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates "divide" (/) operator that applies to a variable number of expressions.
///
/// If there is only one `FilterExpressions`, returns the reciprocal for that `FilterExpressions`.
/// Otherwise, return the first `FilterExpressions` divided by the product of the rest.
/// All `FilterExpressions` must resolve to the same type (integer or float).
/// Requires server version 5.6.0+.
/// ```
/// use aerospike::expressions::{lt, int_val, int_bin, num_div};
/// // a / b / c > 1
/// let _ = lt(num_div(vec![int_bin("a".to_string()), int_bin("b".to_string()), int_bin("c".to_string())]), int_val(1));
/// ```
#[must_use]
pub const fn num_div(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Div),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates "power" operator that raises a "base" to the "exponent" power.
/// All arguments must resolve to floats.
/// Requires server version 5.6.0+.
/// ```
/// // pow(a, 2.0) == 4.0
/// use aerospike::expressions::{eq, num_pow, float_bin, float_val};
/// let _ = eq(num_pow(float_bin("a".to_string()), float_val(2.0)), float_val(4.0));
/// ```
#[must_use]
pub fn num_pow(base: Expression, exponent: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::Pow),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![base, exponent]),
        arguments: None,
        bytes: None,
    }
}

/// Creates "log" operator for logarithm of "num" with base "base".
/// All arguments must resolve to floats.
/// Requires server version 5.6.0+.
/// ```
/// // log(a, 2.0) == 4.0
/// use aerospike::expressions::{eq, float_bin, float_val, num_log};
/// let _ = eq(num_log(float_bin("a".to_string()), float_val(2.0)), float_val(4.0));
/// ```
#[must_use]
pub fn num_log(num: Expression, base: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::Log),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![num, base]),
        arguments: None,
        bytes: None,
    }
}

/// Creates "modulo" (%) operator that determines the remainder of "numerator"
/// divided by "denominator". All arguments must resolve to integers.
/// Requires server version 5.6.0+.
/// ```
/// // a % 10 == 0
/// use aerospike::expressions::{eq, num_mod, int_val, int_bin};
/// let _ = eq(num_mod(int_bin("a".to_string()), int_val(10)), int_val(0));
/// ```
#[must_use]
pub fn num_mod(numerator: Expression, denominator: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::Mod),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![numerator, denominator]),
        arguments: None,
        bytes: None,
    }
}

/// Creates operator that returns absolute value of a number.
/// All arguments must resolve to integer or float.
/// Requires server version 5.6.0+.
/// ```
/// // abs(a) == 1
/// use aerospike::expressions::{eq, int_val, int_bin, num_abs};
/// let _ = eq(num_abs(int_bin("a".to_string())), int_val(1));
/// ```
#[must_use]
pub fn num_abs(value: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::Abs),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![value]),
        arguments: None,
        bytes: None,
    }
}

/// Creates expression that rounds a floating point number down to the closest integer value.
/// The return type is float.
// Requires server version 5.6.0+.
/// ```
/// // floor(2.95) == 2.0
/// use aerospike::expressions::{eq, num_floor, float_val};
/// let _ = eq(num_floor(float_val(2.95)), float_val(2.0));
/// ```
#[must_use]
pub fn num_floor(num: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::Floor),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![num]),
        arguments: None,
        bytes: None,
    }
}

/// Creates expression that rounds a floating point number up to the closest integer value.
/// The return type is float.
/// Requires server version 5.6.0+.
/// ```
/// // ceil(2.15) == 3.0
/// use aerospike::expressions::{float_val, num_ceil, ge};
/// let _ = ge(num_ceil(float_val(2.15)), float_val(3.0));
/// ```
#[must_use]
pub fn num_ceil(num: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::Ceil),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![num]),
        arguments: None,
        bytes: None,
    }
}

/// Creates expression that converts an integer to a float.
/// Requires server version 5.6.0+.
/// ```
/// // int(2.5) == 2
/// use aerospike::expressions::{float_val, eq, to_int, int_val};
/// let _ = eq(to_int(float_val(2.5)), int_val(2));
/// ```
#[must_use]
pub fn to_int(num: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::ToInt),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![num]),
        arguments: None,
        bytes: None,
    }
}

/// Creates expression that converts a float to an integer.
/// Requires server version 5.6.0+.
/// ```
/// // float(2) == 2.0
/// use aerospike::expressions::{float_val, eq, to_float, int_val};
/// let _ = eq(to_float(int_val(2)), float_val(2.0));
/// ```
#[must_use]
pub fn to_float(num: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::ToFloat),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![num]),
        arguments: None,
        bytes: None,
    }
}

/// Creates integer "and" (&) operator that is applied to two or more integers.
/// All arguments must resolve to integers.
/// Requires server version 5.6.0+.
/// ```
/// // a & 0xff == 0x11
/// use aerospike::expressions::{eq, int_val, int_and, int_bin};
/// let _ = eq(int_and(vec![int_bin("a".to_string()), int_val(0xff)]), int_val(0x11));
/// ```
#[must_use]
pub const fn int_and(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::IntAnd),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates integer "or" (|) operator that is applied to two or more integers.
/// All arguments must resolve to integers.
/// Requires server version 5.6.0+.
/// ```
/// // a | 0xff == 0xff
/// use aerospike::expressions::{eq, int_val, int_or, int_bin};
/// let _ = eq(int_or(vec![int_bin("a".to_string()), int_val(0xFF)]), int_val(0xFF));
/// ```
#[must_use]
pub const fn int_or(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::IntOr),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates integer "xor" (^) operator that is applied to two or more integers.
/// All arguments must resolve to integers.
/// Requires server version 5.6.0+.
/// ```
/// // a ^ b == 16
/// use aerospike::expressions::{eq, int_val, int_xor, int_bin};
/// let _ = eq(int_xor(vec![int_bin("a".to_string()), int_bin("b".to_string())]), int_val(16));
/// ```
#[must_use]
pub const fn int_xor(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::IntXor),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates integer "not" (~) operator.
/// Requires server version 5.6.0+.
/// ```
/// // ~a == 7
/// use aerospike::expressions::{eq, int_val, int_not, int_bin};
/// let _ = eq(int_not(int_bin("a".to_string())), int_val(7));
/// ```
#[must_use]
pub fn int_not(exp: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::IntNot),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![exp]),
        arguments: None,
        bytes: None,
    }
}

/// Creates integer "left shift" (<<) operator.
/// Requires server version 5.6.0+.
/// ```
/// // a << 8 > 0xff
/// use aerospike::expressions::{int_val, int_bin, gt, int_lshift};
/// let _ = gt(int_lshift(int_bin("a".to_string()), int_val(8)), int_val(0xff));
/// ```
#[must_use]
pub fn int_lshift(value: Expression, shift: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::IntLshift),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![value, shift]),
        arguments: None,
        bytes: None,
    }
}

/// Creates integer "logical right shift" (>>>) operator.
/// Requires server version 5.6.0+.
/// ```
/// // a >> 8 > 0xff
/// use aerospike::expressions::{int_val, int_bin, gt, int_rshift};
/// let _ = gt(int_rshift(int_bin("a".to_string()), int_val(8)), int_val(0xff));
/// ```
#[must_use]
pub fn int_rshift(value: Expression, shift: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::IntRshift),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![value, shift]),
        arguments: None,
        bytes: None,
    }
}

/// Creates integer "arithmetic right shift" (>>) operator.
/// The sign bit is preserved and not shifted.
/// Requires server version 5.6.0+.
/// ```
/// // a >>> 8 > 0xff
/// use aerospike::expressions::{int_val, int_bin, gt, int_arshift};
/// let _ = gt(int_arshift(int_bin("a".to_string()), int_val(8)), int_val(0xff));
/// ```
#[must_use]
pub fn int_arshift(value: Expression, shift: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::IntARshift),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![value, shift]),
        arguments: None,
        bytes: None,
    }
}

/// Creates expression that returns count of integer bits that are set to 1.
/// Requires server version 5.6.0+.
/// ```
/// // count(a) == 4
/// use aerospike::expressions::{int_val, int_bin, int_count, eq};
/// let _ = eq(int_count(int_bin("a".to_string())), int_val(4));
/// ```
#[must_use]
pub fn int_count(exp: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::IntCount),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![exp]),
        arguments: None,
        bytes: None,
    }
}

/// Creates expression that scans integer bits from left (most significant bit) to right, looking for a search bit value.
///
/// When the search value is found, the index of that bit (where the most significant bit is
/// index 0) is returned. If "search" is true, the scan will search for the bit
/// value 1. If "search" is false it will search for bit value 0.
/// Requires server version 5.6.0+.
/// ```
/// // lscan(a, true) == 4
/// use aerospike::expressions::{int_val, int_bin, eq, int_lscan, bool_val};
/// let _ = eq(int_lscan(int_bin("a".to_string()), bool_val(true)), int_val(4));
/// ```
#[must_use]
pub fn int_lscan(value: Expression, search: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::IntLscan),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![value, search]),
        arguments: None,
        bytes: None,
    }
}

/// Creates expression that scans integer bits from right (least significant bit) to left, looking for a search bit value.
///
/// When the search value is found, the index of that bit (where the most significant bit is
/// index 0) is returned. If "search" is true, the scan will search for the bit
/// value 1. If "search" is false it will search for bit value 0.
/// Requires server version 5.6.0+.
/// ```
/// // rscan(a, true) == 4
/// use aerospike::expressions::{int_val, int_bin, eq, int_rscan, bool_val};
/// let _ = eq(int_rscan(int_bin("a".to_string()), bool_val(true)), int_val(4));
/// ```
#[must_use]
pub fn int_rscan(value: Expression, search: Expression) -> Expression {
    Expression {
        cmd: Some(ExpOp::IntRscan),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![value, search]),
        arguments: None,
        bytes: None,
    }
}

/// Creates expression that returns the minimum value in a variable number of expressions.
/// All arguments must be the same type (integer or float).
/// Requires server version 5.6.0+.
/// ```
/// // min(a, b, c) > 0
/// use aerospike::expressions::{int_val, int_bin, gt, min};
/// let _ = gt(min(vec![int_bin("a".to_string()),int_bin("b".to_string()),int_bin("c".to_string())]), int_val(0));
/// ```
#[must_use]
pub const fn min(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Min),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Creates expression that returns the maximum value in a variable number of expressions.
/// All arguments must be the same type (integer or float).
/// Requires server version 5.6.0+.
/// ```
/// // max(a, b, c) > 100
/// use aerospike::expressions::{int_val, int_bin, gt, max};
/// let _ = gt(max(vec![int_bin("a".to_string()),int_bin("b".to_string()),int_bin("c".to_string())]), int_val(100));
/// ```
#[must_use]
pub const fn max(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Max),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

//--------------------------------------------------
// Variables
//--------------------------------------------------

/// Conditionally select an expression from a variable number of expression pairs
/// followed by default expression action.
/// Requires server version 5.6.0+.
/// ```
/// // Args Format: bool exp1, action exp1, bool exp2, action exp2, ..., action-default
/// // Apply operator based on type.
///
/// use aerospike::expressions::{cond, int_bin, eq, int_val, num_add, num_sub, num_mul};
/// let _ = cond(
///   vec![
///     eq(int_bin("type".to_string()), int_val(0)), num_add(vec![int_bin("val1".to_string()), int_bin("val2".to_string())]),
///     eq(int_bin("type".to_string()), int_val(1)), num_sub(vec![int_bin("val1".to_string()), int_bin("val2".to_string())]),
///     eq(int_bin("type".to_string()), int_val(2)), num_mul(vec![int_bin("val1".to_string()), int_bin("val2".to_string())]),
///     int_val(-1)
///   ]
/// );
/// ```
#[must_use]
pub const fn cond(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Cond),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Define variables and expressions in scope.
/// Requires server version 5.6.0+.
/// ```
/// // 5 < a < 10
/// use aerospike::expressions::{exp_let, def, int_bin, and, lt, int_val, var};
/// let _ = exp_let(
///   vec![
///     def("x".to_string(), int_bin("a".to_string())),
///     and(vec![
///       lt(int_val(5), var("x".to_string()),),
///       lt(var("x".to_string()), int_val(10))
///     ])
///   ]
/// );
/// ```
#[must_use]
pub const fn exp_let(exps: Vec<Expression>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Let),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: Some(exps),
        arguments: None,
        bytes: None,
    }
}

/// Assign variable to an expression that can be accessed later.
/// Requires server version 5.6.0+.
/// ```
/// // 5 < a < 10
/// use aerospike::expressions::{exp_let, def, int_bin, and, lt, int_val, var};
/// let _ = exp_let(
///   vec![
///     def("x".to_string(), int_bin("a".to_string())),
///     and(vec![
///       lt(int_val(5), var("x".to_string()),),
///       lt(var("x".to_string()), int_val(10))
///     ])
///   ]
/// );
/// ```
#[must_use]
pub fn def(name: impl Into<String>, value: Expression) -> Expression {
    Expression {
        cmd: None,
        val: Some(Value::String(name.into())),
        bin: None,
        flags: None,
        module: None,
        exps: Some(vec![value]),
        arguments: None,
        bytes: None,
    }
}

/// Retrieve expression value from a variable.
/// Requires server version 5.6.0+.
#[must_use]
pub fn var(name: impl Into<String>) -> Expression {
    Expression {
        cmd: Some(ExpOp::Var),
        val: Some(Value::String(name.into())),
        bin: None,
        flags: None,
        module: None,
        exps: None,
        arguments: None,
        bytes: None,
    }
}

/// Creates unknown value. Used to intentionally fail an expression.
///
/// The failure can be ignored with [`ExpWriteFlags::EVAL_NO_FAIL`](crate::operations::exp::ExpWriteFlags::EVAL_NO_FAIL)
/// or [`ExpReadFlags::EVAL_NO_FAIL`](crate::operations::exp::ExpReadFlags::EVAL_NO_FAIL).
/// Requires server version 5.6.0+.
///
/// ```
/// // double v = balance - 100.0;
/// // return (v > 0.0)? v : unknown;
/// use aerospike::expressions::{exp_let, def, num_sub, float_bin, float_val, cond, ge, var, unknown};
/// let _ = exp_let(
///     vec![
///         def("v".to_string(), num_sub(vec![float_bin("balance".to_string()), float_val(100.0)])),
///         cond(vec![ge(var("v".to_string()), float_val(0.0)), var("v".to_string())]),
///         unknown()
///     ]
/// );
/// ```
#[must_use]
pub const fn unknown() -> Expression {
    Expression {
        cmd: Some(ExpOp::Unknown),
        val: None,
        bin: None,
        flags: None,
        module: None,
        exps: None,
        arguments: None,
        bytes: None,
    }
}

// ===== Path Expression helpers =====

/// Pack CDT context in "flat" format used by path-based operations.
/// Expression values are written directly (no binary wrapper).
pub(crate) fn pack_flat_ctx(buf: &mut Option<&mut Buffer>, ctx: &[CdtContext]) -> Result<usize> {
    let mut size = 0;
    size += pack_array_begin(buf, ctx.len() * 2);
    for c in ctx {
        size += pack_integer(buf, i64::from(c.id));
        if let Some(ref exp) = c.expression {
            size += exp.pack(buf)?;
        } else {
            size += pack_value(buf, &c.value)?;
        }
    }
    Ok(size)
}

/// Pack the CDT path select bytes: array[3]: [0xfe, `flat_ctx`, flag]
pub(crate) fn pack_path_select(
    buf: &mut Option<&mut Buffer>,
    ctx: &[CdtContext],
    flag: i64,
) -> Result<usize> {
    let mut size = 0;
    size += pack_array_begin(buf, 3);
    size += pack_integer(buf, 0xfe);
    size += pack_flat_ctx(buf, ctx)?;
    size += pack_integer(buf, flag);
    Ok(size)
}

/// Pack CDT path modify content: array[4]: [0xfe, `flat_ctx`, flag|0x04, exp]
/// The 0x04 bit (`EXP_PATH_MODIFY_APPLY`) is always OR'd into the flag.
/// The expression is packed directly (no binary wrapper).
pub(crate) fn pack_path_modify_exp(
    buf: &mut Option<&mut Buffer>,
    ctx: &[CdtContext],
    flag: i64,
    exp: &Expression,
) -> Result<usize> {
    let mut size = 0;
    size += pack_array_begin(buf, 4);
    size += pack_integer(buf, 0xfe);
    size += pack_flat_ctx(buf, ctx)?;
    size += pack_integer(buf, flag | 0x04);
    size += exp.pack(buf)?;
    Ok(size)
}

// ===== Loop Variable Expressions =====

/// Retrieve the boolean part of a loop variable.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_bool_loop_var(part: LoopVarPart) -> Expression {
    Expression::new(
        Some(ExpOp::VarBuiltIn),
        Some(Value::Int(part.0)),
        None,
        Some(ExpType::Bool as i64),
        None,
        None,
    )
}

/// Retrieve the integer part of a loop variable.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_int_loop_var(part: LoopVarPart) -> Expression {
    Expression::new(
        Some(ExpOp::VarBuiltIn),
        Some(Value::Int(part.0)),
        None,
        Some(ExpType::Int as i64),
        None,
        None,
    )
}

/// Retrieve the float part of a loop variable.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_float_loop_var(part: LoopVarPart) -> Expression {
    Expression::new(
        Some(ExpOp::VarBuiltIn),
        Some(Value::Int(part.0)),
        None,
        Some(ExpType::Float as i64),
        None,
        None,
    )
}

/// Retrieve the string part of a loop variable.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_string_loop_var(part: LoopVarPart) -> Expression {
    Expression::new(
        Some(ExpOp::VarBuiltIn),
        Some(Value::Int(part.0)),
        None,
        Some(ExpType::String as i64),
        None,
        None,
    )
}

/// Retrieve the list part of a loop variable.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_list_loop_var(part: LoopVarPart) -> Expression {
    Expression::new(
        Some(ExpOp::VarBuiltIn),
        Some(Value::Int(part.0)),
        None,
        Some(ExpType::List as i64),
        None,
        None,
    )
}

/// Retrieve the map part of a loop variable.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_map_loop_var(part: LoopVarPart) -> Expression {
    Expression::new(
        Some(ExpOp::VarBuiltIn),
        Some(Value::Int(part.0)),
        None,
        Some(ExpType::Map as i64),
        None,
        None,
    )
}

/// Retrieve the blob part of a loop variable.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_blob_loop_var(part: LoopVarPart) -> Expression {
    Expression::new(
        Some(ExpOp::VarBuiltIn),
        Some(Value::Int(part.0)),
        None,
        Some(ExpType::Blob as i64),
        None,
        None,
    )
}

/// Retrieve the hll part of a loop variable.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_hll_loop_var(part: LoopVarPart) -> Expression {
    Expression::new(
        Some(ExpOp::VarBuiltIn),
        Some(Value::Int(part.0)),
        None,
        Some(ExpType::Hll as i64),
        None,
        None,
    )
}

/// Retrieve the nil part of a loop variable.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_nil_loop_var(part: LoopVarPart) -> Expression {
    Expression::new(
        Some(ExpOp::VarBuiltIn),
        Some(Value::Int(part.0)),
        None,
        Some(ExpType::Nil as i64),
        None,
        None,
    )
}

/// Retrieve the `GeoJSON` part of a loop variable.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_geo_json_loop_var(part: LoopVarPart) -> Expression {
    Expression::new(
        Some(ExpOp::VarBuiltIn),
        Some(Value::Int(part.0)),
        None,
        Some(ExpType::Geo as i64),
        None,
        None,
    )
}

/// Remove the expression result from the return value.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_remove_result() -> Expression {
    Expression::new(Some(ExpOp::ResultRemove), None, None, None, None, None)
}

/// Test whether `value` is contained in `list`. Returns a boolean
/// expression.
///
/// Both arguments are themselves expressions, so this composes with
/// path expressions and loop variables — e.g. `in_list(loop_var, val(known_set))`.
/// Requires Aerospike Server version >= 8.1.2.
#[must_use]
pub fn in_list(value: Expression, list: Expression) -> Expression {
    Expression::new(
        Some(ExpOp::InList),
        None,
        None,
        None,
        None,
        Some(vec![value, list]),
    )
}

/// Extract the keys of a map expression as a list.
///
/// Distinct from [`crate::operations::cdt_context::ctx_map_keys_in`],
/// which is a CTX entry that *filters* a map down to a named subset of
/// keys. This expression *converts* a map into its key list.
/// Requires Aerospike Server version >= 8.1.2.
#[must_use]
pub fn map_keys(map: Expression) -> Expression {
    Expression::new(
        Some(ExpOp::MapKeys),
        None,
        None,
        None,
        None,
        Some(vec![map]),
    )
}

/// Extract the values of a map expression as a list.
/// Requires Aerospike Server version >= 8.1.2.
#[must_use]
pub fn map_values(map: Expression) -> Expression {
    Expression::new(
        Some(ExpOp::MapValues),
        None,
        None,
        None,
        None,
        Some(vec![map]),
    )
}

// ===== Path-based Expression Operations =====

/// Create an expression that selects from a CDT bin using a path context.
/// Requires Aerospike Server version >= 8.1.1.
///
/// Accepts any value convertible to `&[CdtContext]` — pass a slice, a
/// `Vec<CdtContext>`, or a [`Path`](crate::operations::cdt_context::Path)
/// directly.
#[must_use]
pub fn exp_select_by_path(
    return_type: ExpType,
    flag: crate::operations::path::SelectFlag,
    bin_exp: Expression,
    ctx: &[CdtContext],
) -> Expression {
    Expression {
        cmd: Some(ExpOp::Call),
        val: None,
        bin: Some(Box::new(bin_exp)),
        flags: Some(0),
        module: Some(return_type),
        exps: None,
        arguments: Some(vec![ExpressionArgument::CdtSelectPathArg(
            flag,
            ctx.to_vec(),
        )]),
        bytes: None,
    }
}

/// Create an expression that modifies a CDT bin using a path context.
/// Requires Aerospike Server version >= 8.1.1.
///
/// Like [`exp_select_by_path`] this accepts anything convertible to
/// `&[CdtContext]`.
///
/// Beyond updating values, `modify_exp` can also delete them. Passing [`exp_remove_result`]
/// **removes** every leaf node matching the path instead of overwriting it.
///
/// If you prefer a simpler API, the [`exp_remove`] wrapper handles this for you:
/// ```rust
/// use aerospike::expressions::{exp_modify_by_path, exp_remove, exp_remove_result, ExpType};
/// use aerospike::operations::cdt_context::Path;
/// use aerospike::operations::path::ModifyFlag;
///
/// let path = Path::new().map_key("book").all_children().map_key("price");
/// let bin_exp = aerospike::expressions::map_bin("myBin");
///
/// // Remove every matching "price" entry...
/// let exp = exp_modify_by_path(ExpType::Map, ModifyFlag::DEFAULT, bin_exp.clone(), exp_remove_result(), &path);
/// // ...equivalently, via the ready-made wrapper:
/// let exp = exp_remove(ExpType::Map, bin_exp, &path);
/// ```
#[must_use]
pub fn exp_modify_by_path(
    return_type: ExpType,
    flag: crate::operations::path::ModifyFlag,
    bin_exp: Expression,
    modify_exp: Expression,
    ctx: &[CdtContext],
) -> Expression {
    Expression {
        cmd: Some(ExpOp::Call),
        val: None,
        bin: None, // bin_exp is stored in CdtModifyPathArg and written from there
        flags: Some(MODIFY),
        module: Some(return_type),
        exps: None,
        arguments: Some(vec![ExpressionArgument::CdtModifyPathArg(
            flag,
            bin_exp,
            modify_exp,
            ctx.to_vec(),
        )]),
        bytes: None,
    }
}

// ===== Convenience builders on top of `exp_select_by_path` / `exp_modify_by_path`
//
// These mirror the operation-side helpers in `operations::path` so callers
// don't have to memorize the SelectFlag / ModifyFlag bitmask constants for
// each shape of query when composing path expressions. All wrappers
// inherit the same server-version requirement as their underlying
// expression op (Aerospike Server >= 8.1.1).

/// Convenience wrapper: select the *values* at every path-resolved
/// location (`SelectFlag::VALUE`).
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_select_values(
    return_type: ExpType,
    bin_exp: Expression,
    ctx: &[CdtContext],
) -> Expression {
    exp_select_by_path(
        return_type,
        crate::operations::path::SelectFlag::VALUE,
        bin_exp,
        ctx,
    )
}

/// Convenience wrapper: select the matching *map keys* (`SelectFlag::MAP_KEY`).
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_select_map_keys(
    return_type: ExpType,
    bin_exp: Expression,
    ctx: &[CdtContext],
) -> Expression {
    exp_select_by_path(
        return_type,
        crate::operations::path::SelectFlag::MAP_KEY,
        bin_exp,
        ctx,
    )
}

/// Convenience wrapper: select map *key/value pairs*
/// (`SelectFlag::MAP_KEY_VALUE`).
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_select_map_entries(
    return_type: ExpType,
    bin_exp: Expression,
    ctx: &[CdtContext],
) -> Expression {
    exp_select_by_path(
        return_type,
        crate::operations::path::SelectFlag::MAP_KEY_VALUE,
        bin_exp,
        ctx,
    )
}

/// Convenience wrapper: select the *original tree shape* preserving only
/// matching nodes (`SelectFlag::MATCHING_TREE`).
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_select_matching_tree(
    return_type: ExpType,
    bin_exp: Expression,
    ctx: &[CdtContext],
) -> Expression {
    exp_select_by_path(
        return_type,
        crate::operations::path::SelectFlag::MATCHING_TREE,
        bin_exp,
        ctx,
    )
}

/// Convenience wrapper: modify with default flags, failing on type
/// mismatches (`ModifyFlag::DEFAULT`).
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_modify(
    return_type: ExpType,
    bin_exp: Expression,
    modify_exp: Expression,
    ctx: &[CdtContext],
) -> Expression {
    exp_modify_by_path(
        return_type,
        crate::operations::path::ModifyFlag::DEFAULT,
        bin_exp,
        modify_exp,
        ctx,
    )
}

/// Convenience wrapper: modify with `NO_FAIL` so type-mismatched leaves
/// are silently skipped instead of aborting the whole expression.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_modify_no_fail(
    return_type: ExpType,
    bin_exp: Expression,
    modify_exp: Expression,
    ctx: &[CdtContext],
) -> Expression {
    exp_modify_by_path(
        return_type,
        crate::operations::path::ModifyFlag::NO_FAIL,
        bin_exp,
        modify_exp,
        ctx,
    )
}

/// Convenience wrapper: remove the leaves resolved by a path.
///
/// Equivalent
/// to `exp_modify_by_path(return_type, ModifyFlag::DEFAULT, bin_exp, exp_remove_result(), ctx)`.
/// Requires Aerospike Server version >= 8.1.1.
#[must_use]
pub fn exp_remove(
    return_type: ExpType,
    bin_exp: Expression,
    ctx: &[CdtContext],
) -> Expression {
    exp_modify_by_path(
        return_type,
        crate::operations::path::ModifyFlag::DEFAULT,
        bin_exp,
        exp_remove_result(),
        ctx,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The generic `bin(name, type)` accessor packs identically to the
    // corresponding typed accessor (Java Exp.bin parity).
    #[test]
    fn generic_bin_matches_typed_accessors() {
        assert_eq!(
            bin("a".to_string(), ExpType::Int).base64().unwrap(),
            int_bin("a".to_string()).base64().unwrap()
        );
        assert_eq!(
            bin("a".to_string(), ExpType::String).base64().unwrap(),
            string_bin("a".to_string()).base64().unwrap()
        );
        assert_ne!(
            bin("a".to_string(), ExpType::Float).base64().unwrap(),
            int_bin("a".to_string()).base64().unwrap()
        );
    }

    #[test]
    fn base64_roundtrip_int_eq() {
        let expr = eq(int_bin("bin".to_string()), int_val(42));
        let b64 = expr.base64().unwrap();
        assert!(!b64.is_empty());

        let decoded = from_base64(&b64).unwrap();
        let re_encoded = decoded.base64().unwrap();
        assert_eq!(b64, re_encoded);
    }

    #[test]
    fn base64_roundtrip_string_compare() {
        let expr = eq(
            string_bin("name".to_string()),
            string_val("hello".to_string()),
        );
        let b64 = expr.base64().unwrap();

        let decoded = from_base64(&b64).unwrap();
        let re_encoded = decoded.base64().unwrap();
        assert_eq!(b64, re_encoded);
    }

    #[test]
    fn base64_roundtrip_complex_expression() {
        let expr = and(vec![
            gt(int_bin("age".to_string()), int_val(18)),
            lt(int_bin("age".to_string()), int_val(65)),
            eq(
                string_bin("status".to_string()),
                string_val("active".to_string()),
            ),
        ]);
        let b64 = expr.base64().unwrap();

        let decoded = from_base64(&b64).unwrap();
        let re_encoded = decoded.base64().unwrap();
        assert_eq!(b64, re_encoded);
    }

    #[test]
    fn from_base64_invalid_input() {
        let result = from_base64("not-valid-base64!!!");
        assert!(result.is_err());
    }

    #[test]
    fn base64_roundtrip_bool_and_float() {
        let expr = or(vec![
            eq(float_bin("score".to_string()), float_val(2.5)),
            bool_val(true),
        ]);
        let b64 = expr.base64().unwrap();

        let decoded = from_base64(&b64).unwrap();
        let re_encoded = decoded.base64().unwrap();
        assert_eq!(b64, re_encoded);
    }

    // ===== Path-expression convenience wrappers =====
    //
    // These tests assert byte-for-byte equality between each wrapper and
    // the explicit `exp_select_by_path` / `exp_modify_by_path` form it
    // shadows. That way every shorthand stays in lock-step with the raw
    // API even if SelectFlag / ModifyFlag values shift later.

    use crate::operations::cdt_context::{ctx_map_key, Path};
    use crate::operations::path::{ModifyFlag, SelectFlag};
    use crate::value::Value;

    fn sample_path() -> Path {
        Path::new().map_key("book").all_children()
    }

    #[test]
    fn exp_select_by_path_accepts_path_builder() {
        // `Path` should slot in directly because it implements
        // AsRef<[CdtContext]>.
        let path = sample_path();
        let direct = exp_select_by_path(
            ExpType::List,
            SelectFlag::VALUE,
            list_bin("b"),
            &path,
        )
        .base64()
        .unwrap();
        let via_slice = exp_select_by_path(
            ExpType::List,
            SelectFlag::VALUE,
            list_bin("b"),
            path.as_slice(),
        )
        .base64()
        .unwrap();
        assert_eq!(direct, via_slice);
    }

    #[test]
    fn exp_select_values_matches_raw_value_flag() {
        let ctx = vec![ctx_map_key(Value::from("book"))];
        let wrapper = exp_select_values(ExpType::List, list_bin("b"), &ctx)
            .base64()
            .unwrap();
        let raw = exp_select_by_path(
            ExpType::List,
            SelectFlag::VALUE,
            list_bin("b"),
            ctx.as_slice(),
        )
        .base64()
        .unwrap();
        assert_eq!(wrapper, raw);
    }

    #[test]
    fn exp_select_map_keys_matches_raw_map_key_flag() {
        let ctx = vec![ctx_map_key(Value::from("book"))];
        let wrapper = exp_select_map_keys(ExpType::List, map_bin("m"), &ctx)
            .base64()
            .unwrap();
        let raw = exp_select_by_path(
            ExpType::List,
            SelectFlag::MAP_KEY,
            map_bin("m"),
            ctx.as_slice(),
        )
        .base64()
        .unwrap();
        assert_eq!(wrapper, raw);
    }

    #[test]
    fn exp_select_map_entries_matches_raw_map_key_value_flag() {
        let ctx = vec![ctx_map_key(Value::from("book"))];
        let wrapper = exp_select_map_entries(ExpType::List, map_bin("m"), &ctx)
            .base64()
            .unwrap();
        let raw = exp_select_by_path(
            ExpType::List,
            SelectFlag::MAP_KEY_VALUE,
            map_bin("m"),
            ctx.as_slice(),
        )
        .base64()
        .unwrap();
        assert_eq!(wrapper, raw);
    }

    #[test]
    fn exp_select_matching_tree_matches_raw_matching_tree_flag() {
        let ctx = vec![ctx_map_key(Value::from("book"))];
        let wrapper = exp_select_matching_tree(ExpType::Map, map_bin("m"), &ctx)
            .base64()
            .unwrap();
        let raw = exp_select_by_path(
            ExpType::Map,
            SelectFlag::MATCHING_TREE,
            map_bin("m"),
            ctx.as_slice(),
        )
        .base64()
        .unwrap();
        assert_eq!(wrapper, raw);
    }

    #[test]
    fn exp_modify_matches_raw_default_flag() {
        let ctx = vec![ctx_map_key(Value::from("book"))];
        let modify_exp = int_val(7);
        let wrapper = exp_modify(ExpType::Map, map_bin("m"), modify_exp.clone(), &ctx)
            .base64()
            .unwrap();
        let raw = exp_modify_by_path(
            ExpType::Map,
            ModifyFlag::DEFAULT,
            map_bin("m"),
            modify_exp,
            ctx.as_slice(),
        )
        .base64()
        .unwrap();
        assert_eq!(wrapper, raw);
    }

    #[test]
    fn exp_modify_no_fail_matches_raw_no_fail_flag() {
        let ctx = vec![ctx_map_key(Value::from("book"))];
        let modify_exp = int_val(7);
        let wrapper =
            exp_modify_no_fail(ExpType::Map, map_bin("m"), modify_exp.clone(), &ctx)
                .base64()
                .unwrap();
        let raw = exp_modify_by_path(
            ExpType::Map,
            ModifyFlag::NO_FAIL,
            map_bin("m"),
            modify_exp,
            ctx.as_slice(),
        )
        .base64()
        .unwrap();
        assert_eq!(wrapper, raw);
    }

    #[test]
    fn exp_remove_matches_raw_remove_result_modify() {
        let ctx = vec![ctx_map_key(Value::from("book"))];
        let wrapper = exp_remove(ExpType::Map, map_bin("m"), &ctx)
            .base64()
            .unwrap();
        let raw = exp_modify_by_path(
            ExpType::Map,
            ModifyFlag::DEFAULT,
            map_bin("m"),
            exp_remove_result(),
            ctx.as_slice(),
        )
        .base64()
        .unwrap();
        assert_eq!(wrapper, raw);
    }

    // ===== InList / MapKeys / MapValues round-trip =====
    //
    // Each new opcode lives next to its sibling via base64 round-trip:
    // pack to base64, decode, re-pack, and assert the bytes haven't
    // shifted. This catches any future edit that breaks the new ExpOp
    // → wire mapping without needing a live server.

    #[test]
    fn in_list_base64_roundtrips() {
        let expr = in_list(
            int_val(2),
            list_val(vec![
                Value::from(1_i64),
                Value::from(2_i64),
                Value::from(3_i64),
            ]),
        );
        let b64 = expr.base64().unwrap();
        let decoded = from_base64(&b64).unwrap();
        assert_eq!(b64, decoded.base64().unwrap());
    }

    #[test]
    fn map_keys_base64_roundtrips() {
        let expr = map_keys(map_bin("m"));
        let b64 = expr.base64().unwrap();
        let decoded = from_base64(&b64).unwrap();
        assert_eq!(b64, decoded.base64().unwrap());
    }

    #[test]
    fn map_values_base64_roundtrips() {
        let expr = map_values(map_bin("m"));
        let b64 = expr.base64().unwrap();
        let decoded = from_base64(&b64).unwrap();
        assert_eq!(b64, decoded.base64().unwrap());
    }

    #[test]
    fn in_list_composes_with_map_keys() {
        // membership test against the keyset of a map bin
        let expr = in_list(string_val("book"), map_keys(map_bin("m")));
        let b64 = expr.base64().unwrap();
        let decoded = from_base64(&b64).unwrap();
        assert_eq!(b64, decoded.base64().unwrap());
    }

    #[test]
    fn string_pack_roundtrip() {
        let literal = "b".repeat(31);

        let expr = eq(string_bin("a".to_string()), string_val(literal));
        let b64 = expr.base64().unwrap();
        let decoded = from_base64(&b64).unwrap();
        let decoded_b64 = decoded.base64().unwrap();
        let bytes = decoded.bytes.unwrap();

        assert!(
            bytes.windows(3).any(|w| w == [0xd9, 0x20, 0x03]),
            "expected str8 prefix 0xd9 0x20 then STRING 0x03; got: {bytes:02x?}"
        );
        assert!(
            !bytes.windows(4).any(|w| w == [0xda, 0x00, 0x20, 0x03]),
            "must not use str16 0xda 0x00 0x20 for length 32; got: {bytes:02x?}"
        );

        assert_eq!(b64, decoded_b64);
    }
}
