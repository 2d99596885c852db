//! Transactions sent as pipelines: the statements of a transaction go out together and
//! their answers come back together, so a commit costs two round trips (the statements, then
//! `COMMIT` or `ROLLBACK`), not one per statement.

use std::future::Future;
use std::pin::Pin;

use deadpool_postgres::{Object, Pool};
use futures::future::join_all;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::rows::{pg_error, pool_error};
use crate::backend::Result;

/// A statement's parameters.
pub(super) type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

type Pending<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send + 'a>>;

/// A connection inside a transaction. Dropped without [`Tx::commit`] or [`Tx::rollback`]
/// (an error, or a cancelled caller), its connection is closed rather than returned to the
/// pool, so the server rolls the transaction back.
pub(super) struct Tx {
    client: Option<Object>,
}

impl Tx {
    /// Takes a connection; `BEGIN` goes out with the first pipeline.
    pub(super) async fn start(pool: &Pool) -> Result<Tx> {
        Ok(Tx { client: Some(pool.get().await.map_err(pool_error)?) })
    }

    fn client(&self) -> Result<&Object> {
        self.client.as_ref().ok_or(crate::backend::BackendError::Closed)
    }

    /// A pipeline of statements in this transaction; the first one begins it.
    pub(super) fn pipeline(&self, begin: bool) -> Result<Pipeline<'_>> {
        let client = self.client()?;
        let mut steps: Vec<Pending<'_>> = Vec::new();
        if begin {
            steps.push(Box::pin(async move {
                client.batch_execute("BEGIN").await.map(|()| Vec::new())
            }));
        }
        Ok(Pipeline { client, steps, begins: begin })
    }

    pub(super) async fn commit(mut self) -> Result<()> {
        let result = self.client()?.batch_execute("COMMIT").await.map_err(pg_error);
        if result.is_ok() {
            self.client.take();
        }
        result
    }

    pub(super) async fn rollback(mut self) {
        if let Ok(client) = self.client()
            && client.batch_execute("ROLLBACK").await.is_ok()
        {
            self.client.take();
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}

/// Statements queued to go out together, in order.
pub(super) struct Pipeline<'a> {
    client: &'a Object,
    steps: Vec<Pending<'a>>,
    begins: bool,
}

/// Where a statement's rows are in [`Pipeline::run`]'s answer.
#[derive(Clone, Copy)]
pub(super) struct Step(usize);

impl<'a> Pipeline<'a> {
    /// Queues a statement (prepared once per connection) with its parameters.
    pub(super) async fn push(&mut self, sql: &str, params: Params<'a>) -> Result<Step> {
        let statement = self.client.prepare_cached(sql).await.map_err(pg_error)?;
        let client = self.client;
        self.steps.push(Box::pin(async move { client.query(&statement, &params).await }));
        Ok(Step(self.steps.len() - 1))
    }

    /// Sends the statements and waits for every answer. A failed statement aborts the
    /// transaction, and those after it fail too; each keeps its own answer.
    pub(super) async fn run(self) -> Answers {
        let offset = usize::from(self.begins);
        let mut answers = join_all(self.steps).await;
        let begin = if self.begins { Some(answers.remove(0)) } else { None };
        Answers { answers, offset, begin }
    }
}

/// The answers of a pipeline, by [`Step`].
pub(super) struct Answers {
    answers: Vec<Result<Vec<Row>, tokio_postgres::Error>>,
    offset: usize,
    begin: Option<Result<Vec<Row>, tokio_postgres::Error>>,
}

impl Answers {
    /// The rows of one statement.
    pub(super) fn rows(&mut self, step: Step) -> Result<Vec<Row>> {
        match self.answers.get_mut(step.0 - self.offset) {
            Some(answer) => std::mem::replace(answer, Ok(Vec::new())).map_err(pg_error),
            None => Ok(Vec::new()),
        }
    }

    /// The first error among the answers (`BEGIN` included), if any.
    pub(super) fn first_error(&mut self) -> Result<()> {
        if let Some(Err(_)) = &self.begin
            && let Some(Err(error)) = self.begin.take()
        {
            return Err(pg_error(error));
        }
        for answer in &mut self.answers {
            if answer.is_err() {
                return std::mem::replace(answer, Ok(Vec::new())).map(|_| ()).map_err(pg_error);
            }
        }
        Ok(())
    }
}
