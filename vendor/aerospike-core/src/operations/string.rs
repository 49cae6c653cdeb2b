// Copyright 2015-2026 Aerospike, Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

//! String operations. Build operations to be passed to the client's `operate()`
//! call for inspecting and modifying string bins.
//!
//! Index orientation is left-to-right with codepoint addressing. Negative
//! indexes count from the end of the string (-1 = last codepoint). Out-of-bounds
//! indexes are clamped to the valid range; no error is returned.
//!
//! String operations require Aerospike Server version 8.2.0 or later. A non-empty
//! [`CdtContext`] argument navigates into a string nested inside a list or map
//! bin; with an empty context, the operation targets the bin itself. The leaf
//! that the context resolves to must already be an Aerospike string —
//! operations on non-string leaves return `BIN_TYPE_ERROR`.

use crate::commands::buffer::Buffer;
use crate::msgpack::encoder::{pack_array_begin, pack_integer, pack_value};
use crate::operations::cdt_context::DEFAULT_CTX;
use crate::operations::{CdtContext, Operation, OperationBin, OperationData, OperationType};
use crate::{Result, Value};

// Read op codes (server-side subop ids).
const STR_OP_STRLEN: u8 = 0;
const STR_OP_SUBSTR: u8 = 1;
const STR_OP_CHAR_AT: u8 = 2;
const STR_OP_FIND: u8 = 3;
const STR_OP_CONTAINS: u8 = 4;
const STR_OP_STARTS_WITH: u8 = 5;
const STR_OP_ENDS_WITH: u8 = 6;
const STR_OP_TO_INTEGER: u8 = 7;
const STR_OP_TO_DOUBLE: u8 = 8;
const STR_OP_BYTE_LENGTH: u8 = 9;
const STR_OP_IS_NUMERIC: u8 = 10;
const STR_OP_IS_UPPER: u8 = 11;
const STR_OP_IS_LOWER: u8 = 12;
const STR_OP_TO_BLOB: u8 = 13;
const STR_OP_SPLIT: u8 = 14;
const STR_OP_B64_DECODE: u8 = 15;
const STR_OP_REGEX_COMPARE: u8 = 16;

// Modify op codes (server-side subop ids).
const STR_OP_INSERT: u8 = 50;
const STR_OP_OVERWRITE: u8 = 51;
const STR_OP_CONCAT: u8 = 52;
const STR_OP_SNIP: u8 = 53;
const STR_OP_REPLACE: u8 = 54;
const STR_OP_REPLACE_ALL: u8 = 55;
const STR_OP_UPPER: u8 = 56;
const STR_OP_LOWER: u8 = 57;
const STR_OP_CASE_FOLD: u8 = 58;
const STR_OP_NORMALIZE_NFC: u8 = 59;
const STR_OP_TRIM_START: u8 = 60;
const STR_OP_TRIM_END: u8 = 61;
const STR_OP_TRIM: u8 = 62;
const STR_OP_PAD_START: u8 = 63;
const STR_OP_PAD_END: u8 = 64;
const STR_OP_REPEAT: u8 = 65;
const STR_OP_REGEX_REPLACE: u8 = 66;
const STR_OP_APPEND: u8 = 67;
const STR_OP_PREPEND: u8 = 68;

/// Numeric type filter used by [`is_numeric_typed`]. Combine with the
/// `is_numeric` sub-op to restrict validation to integers or floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringNumericType {
    /// Match either an integer or a floating-point number — the union of
    /// [`Int`](StringNumericType::Int) and [`Float`](StringNumericType::Float),
    /// so it inherits `Float`'s fractional-digit requirement: `"1e5"` is a
    /// valid `double` to `strtod` but matches neither branch, and is therefore
    /// **not** numeric under `Any`.
    Any = 0,
    /// Match only integers, i.e. what fits an `i64`.
    Int = 1,
    /// Match only floating-point numbers. **Stricter than "parses as a
    /// float":** the string must contain a `.` followed by at least one digit,
    /// so `"5"` and `"5."` are both false here while `"5"` is true under
    /// [`Int`](StringNumericType::Int).
    Float = 2,
}

crate::flags::bit_flags! {
    /// Regex behavior flags for [`regex_compare_with_flags`] and [`regex_replace`].
    /// Combine with `|`.
    pub struct StringRegexFlags(i64);
    /// Default ICU regex flags (no options).
    const DEFAULT = 0;
    /// Case-insensitive matching.
    const CASE_INSENSITIVE = 1 << 0;
    /// Multi-line: `^` and `$` match the start and end of any line.
    const MULTILINE = 1 << 1;
    /// `.` matches any character including line terminators.
    const DOT_ALL = 1 << 2;
    /// Only `\n` is treated as a line terminator (Unix-style line endings).
    const UNIX_LINES = 1 << 3;
    /// Replace every match. Only meaningful for regex replace operations.
    const GLOBAL = 1 << 4;
}

crate::flags::bit_flags! {
    /// Write semantics for string modify operations. Combine with `|`.
    pub struct StringWriteFlags(i64);
    /// Allow create or update.
    const DEFAULT = 0;

    /// Apply the operation only if the bin does not already exist. A live bin
    /// fails with `BIN_EXISTS_ERROR`.
    ///
    /// Only the additive operations that can create a bin from an empty string
    /// accept this flag: [`insert`], [`overwrite`], [`concat()`], [`concat_list`],
    /// [`append`], [`prepend`], [`pad_start`], [`pad_end`] and [`repeat`], plus
    /// their expression equivalents. Every other string modify operation
    /// rejects it with `PARAMETER_ERROR`.
    ///
    /// It is also invalid combined with [`UPDATE_ONLY`](StringWriteFlags::UPDATE_ONLY),
    /// and invalid on an operation carrying a [`CdtContext`]: both are
    /// `PARAMETER_ERROR`. The server resolves all three of these while parsing
    /// arguments, so [`NO_FAIL`](StringWriteFlags::NO_FAIL) does not suppress
    /// them.
    const CREATE_ONLY = 1;

    /// Apply the operation only to an existing bin, disabling bin creation. An
    /// absent bin is a no-op rather than a create. Valid on every string modify
    /// operation. Cannot be combined with
    /// [`CREATE_ONLY`](StringWriteFlags::CREATE_ONLY).
    const UPDATE_ONLY = 2;

    /// Suppress the failure if the operation cannot be applied, leaving the bin
    /// unchanged. The bin — and the value a modify expression evaluates to —
    /// keeps the unmodified source string.
    ///
    /// It covers argument and size validation, the operation itself, and a
    /// [`CREATE_ONLY`](StringWriteFlags::CREATE_ONLY) conflict on a live bin. It
    /// does not cover a malformed argument list, a non-string bin, invalid UTF-8
    /// in either the source or the result, or the
    /// [`CREATE_ONLY`](StringWriteFlags::CREATE_ONLY) validations described
    /// above.
    ///
    /// An absent bin is not a failure and does not depend on this flag: the
    /// create-capable operations listed under
    /// [`CREATE_ONLY`](StringWriteFlags::CREATE_ONLY) create it, every other
    /// operation is a no-op.
    const NO_FAIL = 4;
}

/// Per-operation policy carrying [`StringWriteFlags`].
///
/// Passed inline to each
/// modify builder; it is not part of the client's dynamic configuration.
/// Mirrors how [`BitPolicy`](crate::operations::bitwise::BitPolicy) is scoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringPolicy {
    flags: i64,
}

impl StringPolicy {
    /// Construct a new policy with the supplied write flags.
    pub const fn new(flags: StringWriteFlags) -> Self {
        StringPolicy {
            flags: flags.bits(),
        }
    }

    /// Returns the raw write-flags bitmask carried by this policy.
    pub(crate) const fn flags(self) -> i64 {
        self.flags
    }
}

impl Default for StringPolicy {
    fn default() -> Self {
        StringPolicy::new(StringWriteFlags::DEFAULT)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StringOp {
    sub_op: u8,
    args: Vec<Value>,
}

impl StringOp {
    pub(crate) fn estimate_size(&self, ctx: &[CdtContext]) -> Result<usize> {
        pack_string_op(&mut None, self.sub_op, &self.args, ctx)
    }

    pub(crate) fn write_to(&self, buf: &mut Buffer, ctx: &[CdtContext]) -> Result<usize> {
        pack_string_op(&mut Some(buf), self.sub_op, &self.args, ctx)
    }
}

fn read_op(sub_op: u8, bin: impl Into<String>, args: Vec<Value>) -> Operation {
    Operation {
        op: OperationType::StringRead,
        ctx: DEFAULT_CTX,
        bin: OperationBin::Name(bin.into()),
        data: OperationData::StringOp(StringOp { sub_op, args }),
    }
}

fn modify_op(sub_op: u8, bin: impl Into<String>, args: Vec<Value>) -> Operation {
    Operation {
        op: OperationType::StringModify,
        ctx: DEFAULT_CTX,
        bin: OperationBin::Name(bin.into()),
        data: OperationData::StringOp(StringOp { sub_op, args }),
    }
}

// Build the msgpack payload for a string op. The layout matches the server's
// particle_string.c `string_state_init`:
//   - No CTX:   [SUBOP, args...]
//   - With CTX: [0xFF, [ctx_id_1, ctx_value_1, ...], [SUBOP, args...]]
// The CTX form is the same CONTEXT_EVAL envelope the list/map/bitwise ops use:
// a fixed outer count of three, with the op nested. Nesting makes the inner
// op's arity self-describing, which is what keeps the trailing policy-flags
// argument of a modify op unambiguous — flat, an element the server did not
// expect was simply consumed as those flags instead of being rejected. The
// server enforces the count: `string_state_init` fails a CTX op whose outer
// element count is not 3.
fn pack_string_op(
    buf: &mut Option<&mut Buffer>,
    sub_op: u8,
    args: &[Value],
    ctx: &[CdtContext],
) -> Result<usize> {
    let mut size: usize = 0;

    if !ctx.is_empty() {
        size += pack_array_begin(buf, 3);
        size += pack_integer(buf, 0xff);

        // Each context contributes two elements, its id and its value, so the
        // list count is twice the number of contexts.
        size += pack_array_begin(buf, ctx.len() * 2);
        for c in ctx {
            if c.id == 0 {
                size += pack_integer(buf, i64::from(c.id));
            } else {
                size += pack_integer(buf, i64::from(c.id | u16::from(c.flags)));
            }
            if let Some(ref exp) = c.expression {
                size += exp.pack_binary(buf)?;
            } else {
                size += pack_value(buf, &c.value)?;
            }
        }
    }

    size += pack_array_begin(buf, 1 + args.len());
    size += pack_integer(buf, i64::from(sub_op));
    for a in args {
        size += pack_value(buf, a)?;
    }

    Ok(size)
}

// -----------------------------------------------------------------
// Read operations
// -----------------------------------------------------------------

/// `strlen` operation.
///
/// The server returns the number of Unicode codepoints in
/// the string bin as an `i64`. This is the codepoint count — not the grapheme
/// cluster count and not the UTF-8 byte length. Use [`byte_length`] for the
/// byte length.
#[must_use]
pub fn strlen(bin: impl Into<String>) -> Operation {
    read_op(STR_OP_STRLEN, bin, vec![])
}

/// `substr` operation that reads from codepoint `start` to the end of the
/// string. Negative `start` counts from the end.
#[must_use]
pub fn substr_from(bin: impl Into<String>, start: i64) -> Operation {
    read_op(STR_OP_SUBSTR, bin, vec![Value::Int(start)])
}

/// `substr` operation that reads codepoints in the half-open range
/// `[start, end)` — `start` inclusive, `end` exclusive.
///
/// Negative indexes
/// count from the end. If, after negative-index normalization,
/// `start >= end`, the result is the empty string.
#[must_use]
pub fn substr(bin: impl Into<String>, start: i64, end: i64) -> Operation {
    read_op(STR_OP_SUBSTR, bin, vec![Value::Int(start), Value::Int(end)])
}

/// `charAt` operation. Returns the codepoint at `index` as a one-codepoint
/// string. Negative indexes count from the end.
#[must_use]
pub fn char_at(bin: impl Into<String>, index: i64) -> Operation {
    read_op(STR_OP_CHAR_AT, bin, vec![Value::Int(index)])
}

/// `find` operation. Returns the codepoint index of the first occurrence of
/// `needle`, or -1 if not found.
#[must_use]
pub fn find(bin: impl Into<String>, needle: impl Into<String>) -> Operation {
    read_op(STR_OP_FIND, bin, vec![Value::String(needle.into())])
}

/// `find` operation that locates a specific `occurrence` of `needle` (1 = first
/// match, -1 = last match). Returns the codepoint index of that match, or -1
/// if not found.
#[must_use]
pub fn find_nth(bin: impl Into<String>, needle: impl Into<String>, occurrence: i64) -> Operation {
    read_op(
        STR_OP_FIND,
        bin,
        vec![Value::String(needle.into()), Value::Int(occurrence)],
    )
}

/// `contains` operation. Returns true if the bin contains `needle` as a
/// substring, false otherwise.
#[must_use]
pub fn contains(bin: impl Into<String>, needle: impl Into<String>) -> Operation {
    read_op(STR_OP_CONTAINS, bin, vec![Value::String(needle.into())])
}

/// `startsWith` operation. Returns true if the bin begins with `prefix`,
/// false otherwise.
///
/// Matching is Unicode canonical, not byte-exact: a prefix stored in a
/// different normalization form than the bin still matches.
#[must_use]
pub fn starts_with(bin: impl Into<String>, prefix: impl Into<String>) -> Operation {
    read_op(STR_OP_STARTS_WITH, bin, vec![Value::String(prefix.into())])
}

/// `endsWith` operation. Returns true if the bin ends with `suffix`,
/// false otherwise.
///
/// Matching is Unicode canonical, not byte-exact: a suffix stored in a
/// different normalization form than the bin still matches.
#[must_use]
pub fn ends_with(bin: impl Into<String>, suffix: impl Into<String>) -> Operation {
    read_op(STR_OP_ENDS_WITH, bin, vec![Value::String(suffix.into())])
}

/// `toInteger` operation. The server parses the string as an `i64`. Returns
/// `PARAMETER_ERROR` if the bin cannot be parsed as an integer.
#[must_use]
pub fn to_integer(bin: impl Into<String>) -> Operation {
    read_op(STR_OP_TO_INTEGER, bin, vec![])
}

/// `toDouble` operation. The server parses the string as a 64-bit float.
/// Returns `PARAMETER_ERROR` if the bin cannot be parsed as a double.
#[must_use]
pub fn to_double(bin: impl Into<String>) -> Operation {
    read_op(STR_OP_TO_DOUBLE, bin, vec![])
}

/// `byteLength` operation. Returns the number of UTF-8 bytes in the string
/// (`i64`). Differs from [`strlen`] for non-ASCII content where one codepoint
/// can encode to multiple bytes.
#[must_use]
pub fn byte_length(bin: impl Into<String>) -> Operation {
    read_op(STR_OP_BYTE_LENGTH, bin, vec![])
}

/// `isNumeric` operation. Returns true if the bin contains a valid integer or
/// float, false otherwise.
#[must_use]
pub fn is_numeric(bin: impl Into<String>) -> Operation {
    read_op(STR_OP_IS_NUMERIC, bin, vec![])
}

/// `isNumeric` operation that filters by [`StringNumericType`] (e.g. restrict
/// to integer-only or float-only validation).
#[must_use]
pub fn is_numeric_typed(bin: impl Into<String>, numeric_type: StringNumericType) -> Operation {
    read_op(
        STR_OP_IS_NUMERIC,
        bin,
        vec![Value::Int(numeric_type as i64)],
    )
}

/// `isUpper` operation. Returns true if every cased codepoint in the bin is
/// uppercase, false otherwise.
#[must_use]
pub fn is_upper(bin: impl Into<String>) -> Operation {
    read_op(STR_OP_IS_UPPER, bin, vec![])
}

/// `isLower` operation. Returns true if every cased codepoint in the bin is
/// lowercase, false otherwise.
#[must_use]
pub fn is_lower(bin: impl Into<String>) -> Operation {
    read_op(STR_OP_IS_LOWER, bin, vec![])
}

/// `toBlob` operation. Returns the UTF-8 bytes of the string as a blob.
#[must_use]
pub fn to_blob(bin: impl Into<String>) -> Operation {
    read_op(STR_OP_TO_BLOB, bin, vec![])
}

/// `split` operation that splits by Unicode codepoint — each codepoint becomes
/// its own element of the returned list.
#[must_use]
pub fn split(bin: impl Into<String>) -> Operation {
    read_op(STR_OP_SPLIT, bin, vec![])
}

/// `split` operation that splits the bin by the `separator` substring. If the
/// separator is absent the result is a singleton list containing the whole
/// string.
#[must_use]
pub fn split_by_separator(bin: impl Into<String>, separator: impl Into<String>) -> Operation {
    read_op(STR_OP_SPLIT, bin, vec![Value::String(separator.into())])
}

/// `b64Decode` operation. The server treats the bin as base64-encoded text and
/// returns the decoded bytes as a blob.
#[must_use]
pub fn b64_decode(bin: impl Into<String>) -> Operation {
    read_op(STR_OP_B64_DECODE, bin, vec![])
}

/// `regexCompare` operation. The server matches `pattern` (ICU regex syntax)
/// against the bin and returns true on match, false otherwise.
#[must_use]
pub fn regex_compare(bin: impl Into<String>, pattern: impl Into<String>) -> Operation {
    read_op(STR_OP_REGEX_COMPARE, bin, vec![Value::String(pattern.into())])
}

/// `regexCompare` operation that honors [`StringRegexFlags`] (e.g.
/// `CASE_INSENSITIVE`). Flag values may be combined with bitwise OR.
#[must_use]
pub fn regex_compare_with_flags(
    bin: impl Into<String>,
    pattern: impl Into<String>,
    regex_flags: StringRegexFlags,
) -> Operation {
    read_op(
        STR_OP_REGEX_COMPARE,
        bin,
        vec![Value::String(pattern.into()), Value::Int(regex_flags.bits())],
    )
}

// -----------------------------------------------------------------
// Modify operations
// -----------------------------------------------------------------

/// `insert` operation that splices `value` into the bin at codepoint `index`.
/// Negative indexes count from the end of the string.
#[must_use]
pub fn insert(policy: &StringPolicy, bin: impl Into<String>, index: i64, value: impl Into<String>) -> Operation {
    modify_op(
        STR_OP_INSERT,
        bin,
        vec![
            Value::Int(index),
            Value::String(value.into()),
            Value::Int(policy.flags),
        ],
    )
}

/// `overwrite` operation that overwrites codepoints starting at codepoint
/// `index` with `value`. The result may grow beyond the original length when
/// `value` extends past the end.
#[must_use]
pub fn overwrite(policy: &StringPolicy, bin: impl Into<String>, index: i64, value: impl Into<String>) -> Operation {
    modify_op(
        STR_OP_OVERWRITE,
        bin,
        vec![
            Value::Int(index),
            Value::String(value.into()),
            Value::Int(policy.flags),
        ],
    )
}

/// `concat` operation that appends `value` to the bin.
#[must_use]
pub fn concat(policy: &StringPolicy, bin: impl Into<String>, value: impl Into<String>) -> Operation {
    modify_op(
        STR_OP_CONCAT,
        bin,
        vec![
            Value::List(vec![Value::String(value.into())]),
            Value::Int(policy.flags),
        ],
    )
}

/// `concat` operation that appends each element of `values` to the bin in order.
#[must_use]
pub fn concat_list(policy: &StringPolicy, bin: impl Into<String>, values: &[&str]) -> Operation {
    let list: Vec<Value> = values.iter().map(|s| Value::from(*s)).collect();
    modify_op(
        STR_OP_CONCAT,
        bin,
        vec![Value::List(list), Value::Int(policy.flags)],
    )
}

/// `append` operation that appends `value` to the end of the bin.
///
/// Unlike the
/// legacy byte-level [`crate::operations::append`], this operation is
/// Unicode/DBCS-aware and shares the consistent [`StringPolicy`] / CTX
/// interface of the rest of the string module.
#[must_use]
pub fn append(policy: &StringPolicy, bin: impl Into<String>, value: impl Into<String>) -> Operation {
    modify_op(
        STR_OP_APPEND,
        bin,
        vec![Value::String(value.into()), Value::Int(policy.flags)],
    )
}

/// `prepend` operation that prepends `value` to the start of the bin.
///
/// Unlike
/// the legacy byte-level [`crate::operations::prepend`], this operation is
/// Unicode/DBCS-aware and shares the consistent [`StringPolicy`] / CTX
/// interface of the rest of the string module.
#[must_use]
pub fn prepend(policy: &StringPolicy, bin: impl Into<String>, value: impl Into<String>) -> Operation {
    modify_op(
        STR_OP_PREPEND,
        bin,
        vec![Value::String(value.into()), Value::Int(policy.flags)],
    )
}

/// `snip` operation that removes codepoints starting at codepoint `start`
/// through the end of the string, truncating the bin. `snip_from("hello world", 5)`
/// leaves `"hello"`.
///
/// **This form carries no write flags, and cannot.** The server reads the snip
/// arguments by position — `start`, `end`, then flags — so a two-argument
/// payload of `[start, flags]` would land the flags in the `end` slot and
/// silently snip the empty range `[start, 0)`. `policy` is accepted for
/// signature parity with the other modify builders and is ignored; use [`snip`]
/// when the write flags have to be honored.
#[must_use]
pub fn snip_from(_policy: &StringPolicy, bin: impl Into<String>, start: i64) -> Operation {
    modify_op(STR_OP_SNIP, bin, vec![Value::Int(start)])
}

/// `snip` operation that removes the half-open codepoint range
/// `[start, end)` from the bin.
#[must_use]
pub fn snip(policy: &StringPolicy, bin: impl Into<String>, start: i64, end: i64) -> Operation {
    modify_op(
        STR_OP_SNIP,
        bin,
        vec![Value::Int(start), Value::Int(end), Value::Int(policy.flags)],
    )
}

/// `replace` operation that replaces the first occurrence of `needle` with
/// `replacement`.
#[must_use]
pub fn replace(policy: &StringPolicy, bin: impl Into<String>, needle: impl Into<String>, replacement: impl Into<String>) -> Operation {
    modify_op(
        STR_OP_REPLACE,
        bin,
        vec![
            Value::List(vec![Value::String(needle.into()), Value::String(replacement.into())]),
            Value::Int(policy.flags),
        ],
    )
}

/// `replaceAll` operation that replaces every occurrence of `needle` with
/// `replacement`.
#[must_use]
pub fn replace_all(policy: &StringPolicy, bin: impl Into<String>, needle: impl Into<String>, replacement: impl Into<String>) -> Operation {
    modify_op(
        STR_OP_REPLACE_ALL,
        bin,
        vec![
            Value::List(vec![Value::String(needle.into()), Value::String(replacement.into())]),
            Value::Int(policy.flags),
        ],
    )
}

/// `upper` operation that uppercases the bin in place.
#[must_use]
pub fn upper(policy: &StringPolicy, bin: impl Into<String>) -> Operation {
    modify_op(STR_OP_UPPER, bin, vec![Value::Int(policy.flags)])
}

/// `lower` operation that lowercases the bin in place.
#[must_use]
pub fn lower(policy: &StringPolicy, bin: impl Into<String>) -> Operation {
    modify_op(STR_OP_LOWER, bin, vec![Value::Int(policy.flags)])
}

/// `caseFold` operation that applies a locale-independent case fold
/// (lowercase) to the bin. Useful for normalized comparison keys.
#[must_use]
pub fn case_fold(policy: &StringPolicy, bin: impl Into<String>) -> Operation {
    modify_op(STR_OP_CASE_FOLD, bin, vec![Value::Int(policy.flags)])
}

/// `normalizeNFC` operation that normalizes the bin to Unicode NFC form.
/// Already-normalized strings are unchanged.
#[must_use]
pub fn normalize_nfc(policy: &StringPolicy, bin: impl Into<String>) -> Operation {
    modify_op(STR_OP_NORMALIZE_NFC, bin, vec![Value::Int(policy.flags)])
}

/// `trimStart` operation that removes whitespace from the start of the bin.
#[must_use]
pub fn trim_start(policy: &StringPolicy, bin: impl Into<String>) -> Operation {
    modify_op(STR_OP_TRIM_START, bin, vec![Value::Int(policy.flags)])
}

/// `trimEnd` operation that removes whitespace from the end of the bin.
#[must_use]
pub fn trim_end(policy: &StringPolicy, bin: impl Into<String>) -> Operation {
    modify_op(STR_OP_TRIM_END, bin, vec![Value::Int(policy.flags)])
}

/// `trim` operation that removes whitespace from both ends of the bin.
#[must_use]
pub fn trim(policy: &StringPolicy, bin: impl Into<String>) -> Operation {
    modify_op(STR_OP_TRIM, bin, vec![Value::Int(policy.flags)])
}

/// `padStart` operation that prepends `pad_string` repeatedly until the bin
/// reaches `target_length` codepoints. No-op when the bin is already at or
/// above the target length.
#[must_use]
pub fn pad_start(
    policy: &StringPolicy,
    bin: impl Into<String>,
    target_length: i64,
    pad_string: impl Into<String>,
) -> Operation {
    modify_op(
        STR_OP_PAD_START,
        bin,
        vec![
            Value::Int(target_length),
            Value::String(pad_string.into()),
            Value::Int(policy.flags),
        ],
    )
}

/// `padEnd` operation that appends `pad_string` repeatedly until the bin
/// reaches `target_length` codepoints. No-op when the bin is already at or
/// above the target length.
#[must_use]
pub fn pad_end(
    policy: &StringPolicy,
    bin: impl Into<String>,
    target_length: i64,
    pad_string: impl Into<String>,
) -> Operation {
    modify_op(
        STR_OP_PAD_END,
        bin,
        vec![
            Value::Int(target_length),
            Value::String(pad_string.into()),
            Value::Int(policy.flags),
        ],
    )
}

/// `repeat` operation that repeats the bin contents `count` times. `count`
/// must be non-negative.
#[must_use]
pub fn repeat(policy: &StringPolicy, bin: impl Into<String>, count: i64) -> Operation {
    modify_op(
        STR_OP_REPEAT,
        bin,
        vec![Value::Int(count), Value::Int(policy.flags)],
    )
}

/// `regexReplace` operation that replaces the first match of `pattern` with
/// `replacement`. Pass [`StringRegexFlags::GLOBAL`] to replace every match.
/// Flag values may be combined with bitwise OR.
///
/// **Both flag arguments are positional, and the regex flags come first.**
///
/// This op accepts [`StringWriteFlags::UPDATE_ONLY`] and
/// [`StringWriteFlags::NO_FAIL`]; it is not create-capable, so
/// [`StringWriteFlags::CREATE_ONLY`] is refused with `PARAMETER_ERROR`.
#[must_use]
pub fn regex_replace(
    policy: &StringPolicy,
    bin: impl Into<String>,
    pattern: impl Into<String>,
    replacement: impl Into<String>,
    regex_flags: StringRegexFlags,
) -> Operation {
    modify_op(
        STR_OP_REGEX_REPLACE,
        bin,
        vec![
            Value::List(vec![Value::String(pattern.into()), Value::String(replacement.into())]),
            Value::Int(regex_flags.bits()),
            Value::Int(policy.flags),
        ],
    )
}

// -----------------------------------------------------------------
// Type conversion
// -----------------------------------------------------------------

/// `toString` operation that converts an integer, float, string, or blob bin
/// to its string representation. Returns `BIN_TYPE_ERROR` for any other bin
/// type.
///
/// Unlike the other builders in this module, `to_string` does not accept a
/// [`CdtContext`]. The other string operations are sent as `STRING_READ` /
/// `STRING_MODIFY` wire ops carrying a msgpack payload (with the optional CTX
/// envelope). `to_string` is a separate top-level wire op (`TO_STRING`,
/// code 19) that carries no payload at all — the bin is referenced solely by
/// the operation header, and the server-side handler never inspects an op
/// payload.
///
/// To convert a value nested inside a list or map, extract the leaf with
/// [`crate::operations::lists::get_by_index`] or
/// [`crate::operations::maps::get_by_key`] (using the appropriate
/// [`CdtContext`]) and convert it client-side.
#[must_use]
pub fn to_string(bin: impl Into<String>) -> Operation {
    Operation {
        op: OperationType::ToString,
        ctx: DEFAULT_CTX,
        bin: OperationBin::Name(bin.into()),
        data: OperationData::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::cdt_context::{ctx_list_index, ctx_map_key};

    // Wire-shape assertions for the string-op CONTEXT_EVAL envelope,
    // `[0xFF, ctx_list, [SUBOP, args...]]`. They pack the payload rather than
    // talking to a server, so a regression to the older flat shape — where
    // SUBOP and args sat at the outer level — fails here instead of surfacing
    // as a PARAMETER_ERROR at runtime.

    // Packs an operation's payload both in estimate mode (no buffer) and write
    // mode, asserts the two sizes agree, and returns the written bytes. The
    // agreement is the invariant that makes the buffer sizing safe: the same
    // function fills a buffer measured by its own earlier pass.
    fn payload(op: &Operation) -> Vec<u8> {
        let OperationData::StringOp(ref string_op) = op.data else {
            panic!("expected a StringOp payload");
        };

        let estimated = string_op.estimate_size(&op.ctx).unwrap();
        let mut buffer = Buffer::new(usize::MAX);
        buffer.resize_buffer(estimated).unwrap();
        buffer.data_offset = 0;
        let written = string_op.write_to(&mut buffer, &op.ctx).unwrap();

        assert_eq!(estimated, written, "size pass and write pass disagree");
        assert_eq!(
            buffer.data_buffer.len(),
            estimated,
            "buffer holds a different number of bytes than the size pass returned"
        );

        buffer.data_buffer[..written].to_vec()
    }

    // A read op with no arguments: the inner array holds only the sub-op.
    #[test]
    fn read_op_with_ctx_nests_the_inner_op() {
        assert_eq!(
            payload(&strlen("b").context(vec![ctx_list_index(2)])),
            vec![
                0x93, // array(3): CONTEXT_EVAL envelope
                0xcc, 0xff, // CONTEXT_EVAL sentinel
                0x92, // array(2): one ctx pair
                0x10, // ListIndex
                0x02, // index 2
                0x91, // array(1): the nested op
                0x00, // STR_OP_STRLEN
            ]
        );
    }

    #[test]
    fn read_op_with_args_and_map_key_ctx() {
        assert_eq!(
            payload(&starts_with("b", "Wor").context(vec![ctx_map_key(Value::from("b"))])),
            vec![
                0x93, // array(3)
                0xcc, 0xff, // CONTEXT_EVAL sentinel
                0x92, // array(2): one ctx pair
                0x22, // MapKey
                0xa2, 0x03, 0x62, // "b" as an Aerospike string
                0x92, // array(2): sub-op + one arg
                0x05, // STR_OP_STARTS_WITH
                0xa4, 0x03, 0x57, 0x6f, 0x72, // "Wor"
            ]
        );
    }

    // A modify op always carries its policy flags as a trailing argument.
    #[test]
    fn modify_op_with_ctx_nests_the_flags_with_the_op() {
        assert_eq!(
            payload(&upper(&StringPolicy::default(), "b").context(vec![ctx_list_index(1)])),
            vec![
                0x93, // array(3)
                0xcc, 0xff, // CONTEXT_EVAL sentinel
                0x92, // array(2): one ctx pair
                0x10, // ListIndex
                0x01, // index 1
                0x92, // array(2): sub-op + flags
                0x38, // STR_OP_UPPER
                0x00, // StringWriteFlags::DEFAULT
            ]
        );
    }

    // The case the nesting exists to make safe: flat, this trailing element was
    // indistinguishable from an optional operand of the op.
    #[test]
    fn modify_op_with_non_default_trailing_flags() {
        let policy = StringPolicy::new(StringWriteFlags::NO_FAIL);

        assert_eq!(
            payload(&append(&policy, "b", "!").context(vec![ctx_list_index(1)])),
            vec![
                0x93, // array(3)
                0xcc, 0xff, // CONTEXT_EVAL sentinel
                0x92, // array(2): one ctx pair
                0x10, // ListIndex
                0x01, // index 1
                0x93, // array(3): sub-op + value + flags
                0x43, // STR_OP_APPEND
                0xa2, 0x03, 0x21, // "!"
                0x04, // StringWriteFlags::NO_FAIL
            ]
        );
    }

    // Two contexts, so the ctx list holds four elements — the count the server
    // reads is twice the number of contexts, not the number of contexts.
    #[test]
    fn nested_ctx_path_counts_two_elements_per_context() {
        assert_eq!(
            payload(
                &upper(&StringPolicy::default(), "b")
                    .context(vec![ctx_map_key(Value::from("items")), ctx_list_index(1)])
            ),
            vec![
                0x93, // array(3)
                0xcc, 0xff, // CONTEXT_EVAL sentinel
                0x94, // array(4): two ctx pairs
                0x22, // MapKey
                0xa6, 0x03, 0x69, 0x74, 0x65, 0x6d, 0x73, // "items"
                0x10, // ListIndex
                0x01, // index 1
                0x92, // array(2): sub-op + flags
                0x38, // STR_OP_UPPER
                0x00, // StringWriteFlags::DEFAULT
            ]
        );
    }

    // Without a context there is no envelope and no nesting: the payload is
    // the op itself. This shape did not change, and must not.
    #[test]
    fn without_ctx_the_payload_is_the_bare_op() {
        assert_eq!(payload(&strlen("b")), vec![0x91, 0x00]);
    }

    #[test]
    fn without_ctx_trailing_flags_stay_in_the_only_array() {
        let policy = StringPolicy::new(StringWriteFlags::NO_FAIL);

        assert_eq!(
            payload(&append(&policy, "b", "!")),
            vec![
                0x93, // array(3): sub-op + value + flags
                0x43, // STR_OP_APPEND
                0xa2, 0x03, 0x21, // "!"
                0x04, // StringWriteFlags::NO_FAIL
            ]
        );
    }

    // The `snip` argument list is positional: start at slot 0, end at slot 1,
    // flags at slot 2. So the one-argument form has to pack *exactly* two
    // elements — a trailing flags element would land in the `end` slot and
    // silently snip the empty range [start, 0) instead of truncating. This is
    // why the one-argument builder ignores its policy, and the payload count is
    // the only place that decision is visible.
    #[test]
    fn snip_from_packs_no_flags_element() {
        assert_eq!(
            payload(&snip_from(&StringPolicy::default(), "b", 5)),
            vec![
                0x92, // array(2): sub-op + start, and nothing else
                0x35, // STR_OP_SNIP
                0x05, // start 5
            ]
        );
    }

    #[test]
    fn snip_from_ignores_a_non_default_policy() {
        let policy = StringPolicy::new(StringWriteFlags::NO_FAIL);

        assert_eq!(
            payload(&snip_from(&policy, "b", 5)),
            vec![0x92, 0x35, 0x05],
            "a non-default policy must not add a third element"
        );
    }

    // The two-argument form is unaffected: start, end, then flags.
    #[test]
    fn snip_still_packs_start_end_and_flags() {
        assert_eq!(
            payload(&snip(&StringPolicy::default(), "b", 5, 11)),
            vec![
                0x94, // array(4)
                0x35, // STR_OP_SNIP
                0x05, // start 5
                0x0b, // end 11
                0x00, // StringWriteFlags::DEFAULT
            ]
        );
    }

    // `regex_replace` carries two flag arguments, and their order is a protocol
    // contract: the server parses [patterns, regex_flags, write_flags] by
    // position, and several bits collide between the two flag sets (NO_FAIL and
    // DOTALL are both 1 << 2). The payload therefore always has four elements —
    // it had three before the write-flags slot existed server-side.
    #[test]
    fn regex_replace_packs_regex_flags_then_write_flags() {
        let policy = StringPolicy::new(StringWriteFlags::NO_FAIL);

        assert_eq!(
            payload(&regex_replace(
                &policy,
                "b",
                "a",
                "x",
                StringRegexFlags::GLOBAL
            )),
            vec![
                0x94, // array(4): sub-op + patterns + regex flags + write flags
                0x42, // STR_OP_REGEX_REPLACE
                0x92, // array(2): the pattern/replacement pair
                0xa2, 0x03, 0x61, // "a"
                0xa2, 0x03, 0x78, // "x"
                0x10, // StringRegexFlags::GLOBAL
                0x04, // StringWriteFlags::NO_FAIL
            ]
        );
    }

    /// The default policy still occupies the slot: a three-element payload would
    /// leave the server reading the *regex* flags as write flags on any client
    /// that later omitted them.
    #[test]
    fn regex_replace_packs_a_zero_write_flags_slot_by_default() {
        assert_eq!(
            payload(&regex_replace(
                &StringPolicy::default(),
                "b",
                "a",
                "x",
                StringRegexFlags::DEFAULT
            )),
            vec![0x94, 0x42, 0x92, 0xa2, 0x03, 0x61, 0xa2, 0x03, 0x78, 0x00, 0x00]
        );
    }

    // Every shape the two passes have to agree on, including the multi-arg
    // modify ops where the size pass has the most to get wrong.
    #[test]
    fn size_estimate_matches_write_for_every_shape() {
        let policy = StringPolicy::new(StringWriteFlags::NO_FAIL);
        let deep = vec![ctx_map_key(Value::from("items")), ctx_list_index(1)];

        // `payload` asserts the agreement; this exercises it across shapes.
        payload(&strlen("b"));
        payload(&append(&policy, "b", "!"));
        payload(&strlen("b").context(vec![ctx_list_index(2)]));
        payload(&append(&policy, "b", "!").context(vec![ctx_list_index(2)]));
        payload(&pad_end(&policy, "b", 10, ".").context(deep));
    }
}
