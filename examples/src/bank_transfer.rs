//! The bank transfer of the Durable Functions documentation (`durable-functions-entities`,
//! "Entity coordination"): an orchestration moves money between two `Account` entities inside
//! a critical section, so concurrent transfers never lose or create money.
//!
//! ```csharp
//! [FunctionName("TransferFunds")]
//! public static async Task<bool> TransferFundsAsync([OrchestrationTrigger] IDurableOrchestrationContext ctx)
//! {
//!     var transferDefinition = ctx.GetInput<TransferOperation>();
//!     var sourceEntity = new EntityId(nameof(Account), transferDefinition.SourceId);
//!     var destinationEntity = new EntityId(nameof(Account), transferDefinition.DestinationId);
//!     using (await ctx.LockAsync(sourceEntity, destinationEntity))
//!     {
//!         int sourceBalance = await ctx.CallEntityAsync<int>(sourceEntity, "get");
//!         if (sourceBalance >= transferDefinition.Amount)
//!         {
//!             await ctx.CallEntityAsync(sourceEntity, "add", -transferDefinition.Amount);
//!             await ctx.CallEntityAsync(destinationEntity, "add", transferDefinition.Amount);
//!             return true;
//!         }
//!         return false;
//!     }
//! }
//! ```

use durable::prelude::*;
use serde::{Deserialize, Serialize};

/// `Account`: its state is the balance; `add` (an amount, negative to withdraw), `get`.
#[entity_trigger(name = "Account")]
pub async fn account(ctx: DurableEntityContext) -> Result<(), EntityError> {
    match ctx.operation_name().to_lowercase().as_str() {
        "add" => ctx.set_state(ctx.get_state::<i64>()? + ctx.get_input::<i64>()?)?,
        "get" => ctx.return_value(ctx.get_state::<i64>()?)?,
        "delete" => ctx.delete_state(),
        _ => {}
    }
    Ok(())
}

/// A transfer of `amount` from account `source_id` to `destination_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransferOperation {
    /// The key of the account to take the money from.
    pub source_id: String,
    /// The key of the account to put it in.
    pub destination_id: String,
    /// How much to move.
    pub amount: i64,
}

/// Moves the money when the source holds enough; returns whether it did.
#[orchestration_trigger(name = "TransferFunds")]
pub async fn transfer_funds(
    ctx: DurableOrchestrationContext,
    transfer: TransferOperation,
) -> Result<bool, FunctionFailed> {
    let source = EntityId::new("Account", transfer.source_id)?;
    let destination = EntityId::new("Account", transfer.destination_id)?;
    let _locked = ctx.lock(&[source.clone(), destination.clone()]).await?;
    let balance: i64 = ctx.call_entity(&source, "get", ()).await?;
    if balance >= transfer.amount {
        ctx.call_entity::<()>(&source, "add", -transfer.amount).await?;
        ctx.call_entity::<()>(&destination, "add", transfer.amount).await?;
        return Ok(true);
    }
    Ok(false)
}
