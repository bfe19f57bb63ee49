//! DynamoDB data events: the request echoed in `requestParameters`, minus attribute values,
//! decoded by the shared [`crate::ingest::dynamodb`] decoder (transactions and batches expand to one
//! operation per item).

use super::{Classified, CtRecord, object};
use crate::ingest::dynamodb::{self, KeySchemas, Request};

pub(super) fn classify(name: &str, rec: &CtRecord<'_>, group_id: &str) -> Classified {
    if rec.management_event == Some(true) || !dynamodb::is_data_plane(name) {
        return Classified::Skip("DynamoDB control-plane event");
    }
    let error_code = rec.error_code.as_deref().unwrap_or_default();
    // A single-item call echoed in the usual shape is read typed; anything else as a value tree.
    if let Some(params) = rec.request_parameters
        && let Some(ops) =
            dynamodb::decode_echoed(name, params.get(), error_code, &mut KeySchemas::default())
    {
        return Classified::Db(ops);
    }
    let params = match object(rec.request_parameters, "requestParameters") {
        Ok(p) => p,
        Err(e) => return Classified::Malformed(e),
    };
    let ops = dynamodb::decode(
        &Request {
            operation: name,
            params: &params,
            error_code,
            error_message: rec.error_message.as_deref().unwrap_or_default(),
            group_id,
        },
        &mut KeySchemas::default(),
    );
    Classified::Db(ops)
}
