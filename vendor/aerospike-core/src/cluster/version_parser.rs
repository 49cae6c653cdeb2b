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

use crate::errors::{Error, Result};
use regex::Regex;
use std::sync::LazyLock;

#[derive(Debug, Default, PartialEq, Eq, PartialOrd, Clone)]
/// Holds version numbers.
pub struct Version {
    /// Major value.
    pub major: u64,
    /// Minor value.
    pub minor: u64,
    /// Patch value.
    pub patch: u64,
    /// Build value.
    pub build: u64,
}

impl Version {
    /// Initializes a version number.
    pub const fn new(major: u64, minor: u64, patch: u64, build: u64) -> Self {
        Version {
            major,
            minor,
            patch,
            build,
        }
    }
}

impl Version {
    /// Server supports partition scans.
    pub fn supports_partition_scan(&self) -> bool {
        self >= &Version::new(4, 9, 0, 3)
    }

    /// Server supports query-show command.
    pub fn supports_query_show(&self) -> bool {
        self >= &Version::new(5, 7, 0, 0)
    }

    /// Server supports blob secondary indexes
    /// ([`IndexType::Blob`](crate::IndexType)).
    pub fn supports_blob_index(&self) -> bool {
        self >= &Version::new(7, 0, 0, 0)
    }

    /// Server supports batch-index commands.
    pub fn supports_batch_any(&self) -> bool {
        self >= &Version::new(6, 0, 0, 0)
    }

    /// Server supports partition queries.
    pub fn supports_partition_query(&self) -> bool {
        self >= &Version::new(6, 0, 0, 0)
    }

    /// Server supports app-id.
    pub fn supports_app_id(&self) -> bool {
        self >= &Version::new(8, 1, 0, 0)
    }

    /// Server supports CDT path expression operations (`select_by_path` / `modify_by_path`).
    pub fn supports_cdt_path_expressions(&self) -> bool {
        self >= &Version::new(8, 1, 1, 0)
    }

    /// Server supports the enhanced expression API: `in_list`,
    /// `map_keys`, `map_values`, `ctx_map_keys_in`, `ctx_and_filter`.
    pub fn supports_enhanced_expression_api(&self) -> bool {
        self >= &Version::new(8, 1, 2, 0)
    }

    /// Server supports extended read ops (CDT, expression, bit, HLL
    /// reads) in foreground query ops projection. Earlier servers only
    /// accept the basic `Read` op (i.e. plain bin reads) when ops are
    /// attached to a query.
    pub fn supports_query_ops_projection_ext(&self) -> bool {
        self >= &Version::new(8, 1, 2, 0)
    }

    /// Server supports Multi-Record Transactions (MRT).
    pub fn supports_mrt(&self) -> bool {
        self >= &Version::new(8, 0, 0, 0)
    }

    /// Server supports CDT string operations (`StringOperation` builders).
    pub fn supports_string_operations(&self) -> bool {
        self >= &Version::new(8, 2, 0, 0)
    }

    /// Server accepts `INTEGER` as a secondary-index type
    /// ([`IndexType::Integer`](crate::IndexType::Integer)); older servers
    /// only know `NUMERIC`.
    pub fn supports_integer_index(&self) -> bool {
        self >= &Version::new(8, 2, 0, 0)
    }

    /// Server creates set indexes through the sindex framework
    /// (`sindex-create … indextype=set`), see
    /// [`Client::create_set_index`](crate::Client::create_set_index).
    pub fn supports_set_index(&self) -> bool {
        self >= &Version::new(8, 1, 2, 0)
    }

    /// Server supports extended error detail (subcode, message, expression
    /// trace) requested via
    /// [`BasePolicy::error_detail_verbosity`](crate::policy::BasePolicy::error_detail_verbosity).
    /// Older servers ignore the request flags.
    pub fn supports_extended_error_detail(&self) -> bool {
        self >= &Version::new(8, 2, 0, 0)
    }

    /// Server accepts server-compiled textual AEL on filter field 43 (`[128, <utf-8 bin>]`),
    /// from 8.2.0 on.
    pub fn supports_server_compiled_ael(&self) -> bool {
        self >= &Version::new(8, 2, 0, 0)
    }

    /// Server supports two-phase server query selection (field **44** WHERE explain → execute).
    pub fn supports_query_selection(&self) -> bool {
        self >= &Version::new(8, 2, 0, 0)
    }
}

#[derive(Debug)]
pub struct VersionParser<'a> {
    s: &'a str,
}

impl<'a> VersionParser<'a> {
    pub const fn new(s: &'a str) -> Self {
        VersionParser { s }
    }

    pub fn parse(&self) -> Result<Version> {
        static RE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^(?P<major>(\d+))\.(?P<minor>(\d+))\.(?P<patch>(\d+))\.(?P<build>(\d+))")
                .unwrap()
        });

        if !RE.is_match(self.s) {
            return Err(Error::client_error(format!(
                "Could not parse node version string `{}`",
                self.s
            )));
        }

        let caps = RE.captures(self.s).ok_or_else(|| {
            Error::client_error(format!("Could not parse node version string `{}`", self.s))
        })?;
        // A component that does not fit in u64 is as unusable as a missing one.
        let part = |name: &str| -> Result<u64> {
            caps.name(name)
                .ok_or_else(|| {
                    Error::client_error(format!("Could not parse node version string `{}`", self.s))
                })?
                .as_str()
                .parse::<u64>()
                .map_err(|err| {
                    Error::client_error(format!(
                        "Could not parse node version string `{}`: {err}",
                        self.s
                    ))
                })
        };
        let (major, minor, patch, build) =
            (part("major")?, part("minor")?, part("patch")?, part("build")?);

        Ok(Version {
            major,
            minor,
            patch,
            build,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Version, VersionParser};

    #[test]
    fn comparisons() {
        assert!(Version::new(1, 0, 0, 0) < Version::new(1, 0, 0, 1));
        assert!(Version::new(1, 0, 0, 0) <= Version::new(1, 0, 0, 1));

        assert!(Version::new(2, 1, 3, 2) > Version::new(2, 1, 3, 1));
        assert!(Version::new(2, 1, 3, 2) >= Version::new(2, 1, 3, 1));

        assert!(Version::new(4, 3, 2, 1) == Version::new(4, 3, 2, 1));
        assert!(Version::new(4, 3, 2, 1) <= Version::new(4, 3, 2, 1));
        assert!(Version::new(4, 3, 2, 1) >= Version::new(4, 3, 2, 1));
    }

    #[test]
    fn oversized_components_are_errors_not_panics() {
        // Each component is parsed as u64; a longer digit run must fail
        // the parse, not overflow inside an unwrap.
        assert!(VersionParser::new("99999999999999999999.1.2.3")
            .parse()
            .is_err());
        assert!(VersionParser::new("1.2.3.99999999999999999999")
            .parse()
            .is_err());
    }

    #[test]
    fn parse() {
        assert_eq!(
            Version::new(1, 2, 3, 4),
            VersionParser::new("1.2.3.4").parse().unwrap()
        );

        assert_eq!(
            Version::new(1, 2, 3, 4),
            VersionParser::new("1.2.3.4-asdfasdf").parse().unwrap()
        );

        assert_eq!(
            Version::new(1111, 2222, 333, 14),
            VersionParser::new("1111.2222.333.14").parse().unwrap()
        );

        assert_eq!(
            Version::new(1111, 2222, 333, 14),
            VersionParser::new("1111.2222.333.14.adtrwadfdsfk")
                .parse()
                .unwrap()
        );

        assert_eq!(
            Version::new(1111, 2222, 333, 14),
            VersionParser::new("1111.2222.333.14adtrwadfdsfk")
                .parse()
                .unwrap()
        );

        let invalid = vec![
            ".1.2.3.4",
            "1.2.3-asdfasdf",
            "1111..333.14",
            "1111.a2222.333.14-asdfasdf",
        ];

        for iv in invalid {
            assert!(VersionParser::new(iv).parse().is_err());
        }
    }
}
