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

use std::str;
use std::sync::Arc;

use crate::cluster::{Cluster, Node};
use crate::commands::{Command, ReadCommand, SingleCommand};
use crate::errors::Result;
use crate::net::Connection;
use crate::policy::WritePolicy;
use crate::policy::Policy;
use crate::{Bins, Key, Value};

pub struct ExecuteUdfCommand<'a> {
    pub read_command: ReadCommand<'a>,
    policy: &'a WritePolicy,
    package_name: &'a str,
    function_name: &'a str,
    args: &'a [Value],
}

impl<'a> ExecuteUdfCommand<'a> {
    pub fn new(
        policy: &'a WritePolicy,
        cluster: Arc<Cluster>,
        key: &'a Key,
        package_name: &'a str,
        function_name: &'a str,
        args: &'a [Value],
    ) -> Self {
        let partition = crate::cluster::partition::Partition::for_write(key, policy.base_policy.replica);
        ExecuteUdfCommand {
            read_command: ReadCommand::new_with_partition(
                &policy.base_policy,
                cluster,
                key,
                Bins::All,
                partition,
            ),
            policy,
            package_name,
            function_name,
            args,
        }
    }

    pub async fn execute(&mut self) -> Result<()> {
        SingleCommand::execute(self.policy, self).await
    }
}

#[async_trait::async_trait]
impl Command for ExecuteUdfCommand<'_> {
    fn cluster(&self) -> Option<&Cluster> {
        Some(self.read_command.single_command.cluster())
    }

    async fn write_timeout(&mut self, conn: &mut Connection) -> Result<()> {
        conn.buffer.write_timeout(self.policy.server_timeout());
        Ok(())
    }

    async fn write_buffer(&mut self, conn: &mut Connection) -> Result<()> {
        conn.flush().await
    }

    async fn prepare_buffer(&mut self, conn: &mut Connection) -> Result<()> {
        conn.buffer.set_udf(
            self.policy,
            self.read_command.single_command.key,
            self.package_name,
            self.function_name,
            self.args,
        )
    }

    fn can_retry(&mut self) -> bool {
        true
    }

    fn can_recover_connection(&mut self) -> bool {
        true
    }

    fn is_write(&self) -> bool {
        true
    }

    fn get_node(&mut self) -> Result<Arc<Node>> {
        self.read_command.get_node()
    }

    fn hint(&self) -> u8 {
        self.read_command.single_command.hint()
    }

    fn command_type(&self) -> crate::metrics::CommandType {
        crate::metrics::CommandType::Udf
    }

    fn namespace(&self) -> Option<&str> {
        Some(&self.read_command.single_command.key.namespace)
    }

    fn prepare_retry(&mut self, is_client_timeout: bool) {
        self.read_command
            .single_command
            .prepare_retry(is_client_timeout);
    }

    async fn parse_result(&mut self, conn: &mut Connection) -> Result<()> {
        self.read_command.parse_result(conn).await
    }
}
