//! The write counter (`store_generation`): moved on by every write the in-memory summary
//! mirrors, so that a server can tell its own writes from another process's.

use sqlx::{Any, AnyPool, Row, Transaction};

use super::backend::Backend;
use crate::Result;

/// Moves the counter on inside `tx` and returns its new value. Called last in a transaction:
/// the counter's row is locked until commit, after every other row the transaction writes.
pub async fn advance(tx: &mut Transaction<'_, Any>, b: Backend) -> Result<i64> {
    let row = if b == Backend::MySql {
        // No RETURNING: LAST_INSERT_ID(expr) remembers the value for this connection.
        sqlx::query(
            "UPDATE store_generation SET generation = LAST_INSERT_ID(generation + 1) WHERE id = 1",
        )
        .execute(&mut **tx)
        .await?;
        sqlx::query("SELECT CAST(LAST_INSERT_ID() AS SIGNED) AS generation")
            .fetch_one(&mut **tx)
            .await?
    } else {
        sqlx::query(
            "UPDATE store_generation SET generation = generation + 1 WHERE id = 1
             RETURNING generation",
        )
        .fetch_one(&mut **tx)
        .await?
    };
    Ok(row.try_get("generation")?)
}

/// The counter's value as of the statement's snapshot.
pub async fn read<'c, E>(executor: E) -> Result<i64>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let row = sqlx::query("SELECT generation FROM store_generation WHERE id = 1")
        .fetch_one(executor)
        .await?;
    Ok(row.try_get("generation")?)
}

/// The counter now.
pub async fn current(pool: &AnyPool) -> Result<i64> {
    read(pool).await
}
