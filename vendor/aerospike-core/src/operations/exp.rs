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

//! Expression Operations.
//! This functions allow users to run `FilterExpressions` as Operate commands.

use std::fmt;
use std::sync::Arc;

use crate::commands::buffer::Buffer;
use crate::expressions::Expression;
use crate::msgpack::encoder::{pack_array_begin, pack_integer};
use crate::operations::{Operation, OperationBin, OperationData, OperationType};
use crate::Result;

crate::flags::bit_flags! {
    /// Flags for [`write_exp`]. Combine with `|`.
    pub struct ExpWriteFlags(i64);
    /// Default. Allow create or update.
    const DEFAULT = 0;
    /// If bin does not exist, a new bin will be created.
    /// If bin exists, the operation will be denied.
    /// If bin exists, fail with Bin Exists
    const CREATE_ONLY = 1 << 0;
    /// If bin exists, the bin will be overwritten.
    /// If bin does not exist, the operation will be denied.
    /// If bin does not exist, fail with Bin Not Found
    const UPDATE_ONLY = 1 << 1;
    /// If expression results in nil value, then delete the bin.
    /// Otherwise, return OP Not Applicable when `POLICY_NO_FAIL` is not set
    const ALLOW_DELETE = 1 << 2;
    /// Do not raise error if operation is denied.
    const POLICY_NO_FAIL = 1 << 3;
    /// Ignore failures caused by the expression resolving to unknown or a non-bin type.
    const EVAL_NO_FAIL = 1 << 4;
}

pub(crate) type ExpressionEncoder =
    Arc<dyn Fn(&mut Option<&mut Buffer>, &ExpOperation) -> Result<usize> + Send + Sync + 'static>;

#[derive(Clone)]
pub(crate) struct ExpOperation {
    pub encoder: ExpressionEncoder,
    pub policy: i64,
    pub exp: Expression,
}

/// Equality supports batch-repeat detection. The encoder closure cannot be
/// compared by content, so two operations are equal only when they share
/// the same encoder `Arc` (i.e. one is a clone of the other).
impl PartialEq for ExpOperation {
    fn eq(&self, other: &Self) -> bool {
        self.policy == other.policy
            && Arc::ptr_eq(&self.encoder, &other.encoder)
            && self.exp == other.exp
    }
}

impl ExpOperation {
    pub(crate) fn estimate_size(&self) -> Result<usize> {
        let size: usize = (self.encoder)(&mut None, self)?;
        Ok(size)
    }
    pub(crate) fn write_to(&self, buffer: &mut Buffer) -> Result<usize> {
        let size: usize = (self.encoder)(&mut Some(buffer), self)?;
        Ok(size)
    }
}

impl fmt::Debug for ExpOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> std::result::Result<(), fmt::Error> {
        #[derive(Debug)]
        #[allow(unused)]
        struct ExpOperation<'a> {
            policy: &'a i64,
            exp: &'a Expression,
        }

        let Self {
            encoder: _,
            policy,
            exp,
        } = self;

        fmt::Debug::fmt(&ExpOperation { policy, exp }, f)
    }
}

crate::flags::bit_flags! {
    /// Flags for [`read_exp`]. Combine with `|`.
    pub struct ExpReadFlags(i64);
    /// Default.
    const DEFAULT = 0;
    /// Ignore failures caused by the expression resolving to unknown or a non-bin type.
    const EVAL_NO_FAIL = 1 << 4;
}

/// Creates operation that performs a expression that writes to record bin.
#[must_use]
pub fn write_exp(bin: impl Into<String>, exp: Expression, flags: ExpWriteFlags) -> Operation {
    let op = ExpOperation {
        encoder: Arc::new(pack_write_exp),
        policy: flags.bits(),
        exp,
    };
    Operation {
        op: OperationType::ExpWrite,
        ctx: vec![],
        bin: OperationBin::Name(bin.into()),
        data: OperationData::EXPOp(op),
    }
}

/// Creates operation that performs a read expression.
///
/// For a pre-serialized expression, wrap the packed bytes with
/// [`expressions::from_packed_bytes`](crate::expressions::from_packed_bytes)
/// or [`expressions::from_base64`](crate::expressions::from_base64).
#[must_use]
pub fn read_exp(name: impl Into<String>, exp: Expression, flags: ExpReadFlags) -> Operation {
    let op = ExpOperation {
        encoder: Arc::new(pack_read_exp),
        policy: flags.bits(),
        exp,
    };
    Operation {
        op: OperationType::ExpRead,
        ctx: vec![],
        bin: OperationBin::Name(name.into()),
        data: OperationData::EXPOp(op),
    }
}

fn pack_write_exp(buf: &mut Option<&mut Buffer>, exp_op: &ExpOperation) -> Result<usize> {
    let mut size = 0;
    size += pack_array_begin(buf, 2);
    size += exp_op.exp.pack(buf)?;
    size += pack_integer(buf, exp_op.policy);
    Ok(size)
}

fn pack_read_exp(buf: &mut Option<&mut Buffer>, exp_op: &ExpOperation) -> Result<usize> {
    let mut size = 0;
    size += pack_array_begin(buf, 2);
    size += exp_op.exp.pack(buf)?;
    size += pack_integer(buf, exp_op.policy);
    Ok(size)
}
