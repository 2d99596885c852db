//! A batch's writes as one array per column, so that each kind of row goes to the server as
//! a single `unnest(...)` statement however many writes the batch holds.

use super::batch::TurnOp;
use super::pipeline::Params;
use super::writes::{Creation, Outputs};

#[derive(Default)]
pub(super) struct TurnColumns<'a> {
    pub(super) ids: Vec<&'a str>,
    pub(super) tokens: Vec<i64>,
    pub(super) executions: Vec<&'a str>,
    pub(super) statuses: Vec<&'a str>,
    pub(super) outputs: Vec<&'a str>,
    pub(super) custom: Vec<&'a str>,
    pub(super) failures: Vec<Option<&'a str>>,
    pub(super) updated: Vec<Option<i64>>,
    pub(super) inputs: Vec<Option<&'a str>>,
    pub(super) versions: Vec<Option<&'a str>>,
    pub(super) restarts: Vec<bool>,
    pub(super) events: Vec<i64>,
}

impl<'a> TurnColumns<'a> {
    pub(super) fn of(turns: &[(usize, &'a TurnOp)]) -> Self {
        let mut c = TurnColumns::default();
        for (_, t) in turns {
            c.ids.push(&t.instance_id);
            c.tokens.push(t.token);
            c.executions.push(&t.execution_id);
            c.statuses.push(t.status);
            c.outputs.push(&t.output);
            c.custom.push(&t.custom_status);
            c.failures.push(t.failure.as_deref());
            c.updated.push(t.updated_at);
            c.inputs.push(t.input.as_deref());
            c.versions.push(t.version.as_deref());
            c.restarts.push(t.replace_history || t.new_execution);
            c.events.push(t.outputs.events.len() as i64);
        }
        c
    }

    pub(super) fn params(&self) -> Params<'_> {
        vec![
            &self.ids,
            &self.tokens,
            &self.executions,
            &self.statuses,
            &self.outputs,
            &self.custom,
            &self.failures,
            &self.updated,
            &self.inputs,
            &self.versions,
            &self.restarts,
            &self.events,
        ]
    }
}

#[derive(Default)]
pub(super) struct CreateColumns<'a> {
    pub(super) ids: Vec<&'a str>,
    pub(super) names: Vec<&'a str>,
    pub(super) executions: Vec<&'a str>,
    pub(super) statuses: Vec<&'a str>,
    pub(super) inputs: Vec<&'a str>,
    pub(super) outputs: Vec<&'a str>,
    pub(super) custom: Vec<&'a str>,
    pub(super) failures: Vec<Option<&'a str>>,
    pub(super) versions: Vec<&'a str>,
    pub(super) created: Vec<i64>,
    pub(super) updated: Vec<i64>,
    pub(super) lengths: Vec<i64>,
    pub(super) start_messages: Vec<&'a str>,
    pub(super) start_visible: Vec<i64>,
}

impl<'a> CreateColumns<'a> {
    pub(super) fn of(creates: &[(usize, &'a Creation)]) -> Self {
        let mut c = CreateColumns::default();
        for (_, creation) in creates {
            c.add(creation);
        }
        c
    }

    pub(super) fn add(&mut self, c: &'a Creation) {
        self.ids.push(&c.instance_id);
        self.names.push(&c.name);
        self.executions.push(&c.execution_id);
        self.statuses.push(c.status);
        self.inputs.push(&c.input);
        self.outputs.push(&c.output);
        self.custom.push(&c.custom_status);
        self.failures.push(c.failure.as_deref());
        self.versions.push(&c.version);
        self.created.push(c.created_at);
        self.updated.push(c.updated_at);
        self.lengths.push(c.history_len);
        self.start_messages.push(c.start_message.as_deref().unwrap_or_default());
        self.start_visible.push(c.start_visible);
    }

    pub(super) fn params(&self) -> Params<'_> {
        vec![
            &self.ids,
            &self.names,
            &self.executions,
            &self.statuses,
            &self.inputs,
            &self.outputs,
            &self.custom,
            &self.failures,
            &self.versions,
            &self.created,
            &self.updated,
            &self.lengths,
        ]
    }
}

#[derive(Default)]
pub(super) struct HistoryColumns<'a> {
    pub(super) instances: Vec<&'a str>,
    pub(super) executions: Vec<&'a str>,
    /// How many events the turn appends, and each one's place among them.
    pub(super) counts: Vec<i64>,
    pub(super) positions: Vec<i64>,
    pub(super) events: Vec<&'a str>,
}

impl<'a> HistoryColumns<'a> {
    pub(super) fn add(&mut self, instance_id: &'a str, execution_id: &'a str, o: &'a Outputs) {
        let count = o.events.len() as i64;
        for (n, event) in o.events.iter().enumerate() {
            self.instances.push(instance_id);
            self.executions.push(execution_id);
            self.counts.push(count);
            self.positions.push(n as i64);
            self.events.push(event);
        }
    }
}

#[derive(Default)]
pub(super) struct ActivityColumns<'a> {
    pub(super) queues: Vec<&'a str>,
    pub(super) callers: Vec<&'a str>,
    pub(super) executions: Vec<&'a str>,
    pub(super) task_ids: Vec<i64>,
    pub(super) inputs: Vec<&'a str>,
}

impl<'a> ActivityColumns<'a> {
    pub(super) fn add(&mut self, o: &'a Outputs) {
        self.queues.extend(o.queues.iter().map(String::as_str));
        self.callers.extend(o.callers.iter().map(String::as_str));
        self.executions.extend(o.executions.iter().map(String::as_str));
        self.task_ids.extend(&o.task_ids);
        self.inputs.extend(o.inputs.iter().map(String::as_str));
    }
}

#[derive(Default)]
pub(super) struct MessageColumns<'a> {
    /// The write each message comes from.
    pub(super) ops: Vec<usize>,
    pub(super) targets: Vec<&'a str>,
    pub(super) bodies: Vec<&'a str>,
    pub(super) visible: Vec<i64>,
}

impl<'a> MessageColumns<'a> {
    pub(super) fn add(&mut self, op: usize, o: &'a Outputs) {
        self.ops.extend(std::iter::repeat_n(op, o.targets.len()));
        self.targets.extend(o.targets.iter().map(String::as_str));
        self.bodies.extend(o.bodies.iter().map(String::as_str));
        self.visible.extend(&o.visible);
    }
}
