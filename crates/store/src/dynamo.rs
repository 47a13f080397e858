//! The production store: one DynamoDB table.
//!
//! Item layout: `pk`/`sk` strings; `kind`; `body` (the domain record as a JSON string);
//! `version`; `expires_at` (epoch seconds, the table's TTL attribute); `lookup_pk`/`lookup_sk`
//! (GSI `lookup`); `sched_pk`/`sched_at` (sparse GSI `schedule`, refresh due time);
//! `inv_pk`/`inv_sk` (sparse GSI `inventory`, an account's connections by status).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, PutRequest, ReturnValue,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification, TransactWriteItem, WriteRequest,
};

use crate::cursor::IndexSort;
use crate::{
    Condition, Cursor, Key, Page, Query, Record, StoreError, StoreResult, Table, WriteOp,
    clamp_limit,
};

pub const LOOKUP_INDEX: &str = "lookup";
pub const SCHEDULE_INDEX: &str = "schedule";
pub const INVENTORY_INDEX: &str = "inventory";
pub const TTL_ATTRIBUTE: &str = "expires_at";

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoTable {
    client: Client,
    table: String,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the table with its three indexes and TTL on `expires_at`, and waits until it is
    /// active. Used by tests and by `latchkey --store dynamodb:TABLE`; the SAM template
    /// declares the same shape for deployments.
    pub async fn create_table(&self) -> StoreResult<()> {
        let s = |name: &str| attribute(name, ScalarAttributeType::S);
        let index = |name: &str, hash: &str, range: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key_element(hash, KeyType::Hash)?)
                .key_schema(key_element(range, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build)
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(s("pk")?)
            .attribute_definitions(s("sk")?)
            .attribute_definitions(s("lookup_pk")?)
            .attribute_definitions(s("lookup_sk")?)
            .attribute_definitions(s("sched_pk")?)
            .attribute_definitions(attribute("sched_at", ScalarAttributeType::N)?)
            .attribute_definitions(s("inv_pk")?)
            .attribute_definitions(s("inv_sk")?)
            .key_schema(key_element("pk", KeyType::Hash)?)
            .key_schema(key_element("sk", KeyType::Range)?)
            .global_secondary_indexes(index(LOOKUP_INDEX, "lookup_pk", "lookup_sk")?)
            .global_secondary_indexes(index(SCHEDULE_INDEX, "sched_pk", "sched_at")?)
            .global_secondary_indexes(index(INVENTORY_INDEX, "inv_pk", "inv_sk")?)
            .send()
            .await
            .map_err(sdk)?;
        for _ in 0..120 {
            let status = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(sdk)?
                .table
                .and_then(|t| t.table_status);
            if status == Some(TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .map_err(build)?,
            )
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }
}

fn attribute(name: &str, kind: ScalarAttributeType) -> StoreResult<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .map_err(build)
}

fn key_element(name: &str, kind: KeyType) -> StoreResult<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(build)
}

fn build(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn sdk<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key_item(key: &Key) -> Item {
    HashMap::from([("pk".to_owned(), s(&key.pk)), ("sk".to_owned(), s(&key.sk))])
}

fn to_item(r: &Record) -> Item {
    let mut item = key_item(&r.key);
    item.insert("kind".into(), s(&r.kind));
    // Binary, not a string: the SDK reads a string attribute by unescaping it, and a JSON
    // body is full of quotes to unescape (a fifth of a catalog page's instructions); a
    // binary one is base64, decoded in bulk. Older items' string bodies read the same.
    item.insert(
        "body".into(),
        AttributeValue::B(Blob::new(r.body.as_bytes())),
    );
    item.insert("version".into(), n(r.version as i64));
    if let Some(at) = r.expires_at {
        item.insert(TTL_ATTRIBUTE.into(), n(at));
    }
    if let Some((p, k)) = &r.lookup {
        item.insert("lookup_pk".into(), s(p));
        item.insert("lookup_sk".into(), s(k));
    }
    if let Some((p, at)) = &r.schedule {
        item.insert("sched_pk".into(), s(p));
        item.insert("sched_at".into(), n(*at));
    }
    if let Some((p, k)) = &r.inventory {
        item.insert("inv_pk".into(), s(p));
        item.insert("inv_sk".into(), s(k));
    }
    item
}

fn from_item(mut item: Item) -> StoreResult<Record> {
    // Taken, not cloned: a listing page's bodies are most of its bytes.
    let body = match item.remove("body") {
        Some(AttributeValue::B(b)) => String::from_utf8(b.into_inner()).ok(),
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    };
    let mut text = |name: &str| match item.remove(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    };
    let (pk, sk) = (
        text("pk").unwrap_or_default(),
        text("sk").unwrap_or_default(),
    );
    let kind = text("kind");
    let lookup = text("lookup_pk").zip(text("lookup_sk"));
    let sched_pk = text("sched_pk");
    let inventory = text("inv_pk").zip(text("inv_sk"));
    let number = |name: &str| match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
        _ => None,
    };
    let corrupt = |why: &str| StoreError::Corrupt(format!("{pk}/{sk}"), why.to_owned());
    Ok(Record {
        kind: kind.ok_or_else(|| corrupt("no kind"))?,
        body: body.ok_or_else(|| corrupt("no body"))?,
        version: number("version").ok_or_else(|| corrupt("no version"))? as u64,
        expires_at: number(TTL_ATTRIBUTE),
        lookup,
        schedule: sched_pk.zip(number("sched_at")),
        inventory,
        key: Key::new(pk, sk),
    })
}

/// A condition as a DynamoDB expression with exactly the names and values it uses.
struct Expression {
    text: String,
    names: HashMap<String, String>,
    values: Item,
}

fn condition_expression(condition: Condition, now: i64) -> Option<Expression> {
    let live = "(attribute_not_exists(#exp) OR #exp > :now)";
    let (text, with_version) = match condition {
        Condition::Always => return None,
        Condition::Absent => ("attribute_not_exists(#pk) OR #exp <= :now".to_owned(), None),
        Condition::Present => (format!("attribute_exists(#pk) AND {live}"), None),
        Condition::Version(v) => (format!("#v = :v AND {live}"), Some(v)),
    };
    let mut names = HashMap::from([("#exp".to_owned(), TTL_ATTRIBUTE.to_owned())]);
    let mut values = HashMap::from([(":now".to_owned(), n(now))]);
    match with_version {
        Some(v) => {
            names.insert("#v".into(), "version".into());
            values.insert(":v".into(), n(v as i64));
        }
        None => {
            names.insert("#pk".into(), "pk".into());
        }
    }
    Some(Expression {
        text,
        names,
        values,
    })
}

type ConditionParts = (
    Option<String>,
    Option<HashMap<String, String>>,
    Option<Item>,
);

/// The optional condition fields of a write request.
fn condition_parts(condition: Condition, now: i64) -> ConditionParts {
    match condition_expression(condition, now) {
        Some(e) => (Some(e.text), Some(e.names), Some(e.values)),
        None => (None, None, None),
    }
}

fn is_condition_failure<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key, now: i64) -> StoreResult<Option<Record>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        match out.item {
            Some(item) => Ok(Some(from_item(item)?).filter(|r| r.is_live(now))),
            None => Ok(None),
        }
    }

    async fn write(&self, ops: Vec<WriteOp>, now: i64) -> StoreResult<()> {
        if let [op] = ops.as_slice() {
            return self.write_one(op, now).await;
        }
        let mut items = Vec::with_capacity(ops.len());
        for op in &ops {
            let item = match op {
                WriteOp::Put(r, c) => {
                    let (text, names, values) = condition_parts(*c, now);
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_item(r)))
                        .set_condition_expression(text)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values);
                    TransactWriteItem::builder()
                        .put(put.build().map_err(build)?)
                        .build()
                }
                WriteOp::Delete(k, c) => {
                    let (text, names, values) = condition_parts(*c, now);
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_item(k)))
                        .set_condition_expression(text)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values);
                    TransactWriteItem::builder()
                        .delete(delete.build().map_err(build)?)
                        .build()
                }
            };
            items.push(item);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let cancelled_by_condition = matches!(
                    e.as_service_error(),
                    Some(TransactWriteItemsError::TransactionCanceledException(tc))
                        if tc.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
                );
                Err(if cancelled_by_condition {
                    StoreError::ConditionFailed
                } else {
                    sdk(e)
                })
            }
        }
    }

    /// `BatchWriteItem`, 25 items a call, whatever DynamoDB leaves unprocessed sent again
    /// after a pause (it does under throttling).
    async fn put_new(&self, records: Vec<Record>, _now: i64) -> StoreResult<()> {
        for batch in records.chunks(25) {
            let mut requests: Vec<WriteRequest> = batch
                .iter()
                .map(|r| {
                    let put = PutRequest::builder().set_item(Some(to_item(r))).build();
                    Ok(WriteRequest::builder()
                        .put_request(put.map_err(build)?)
                        .build())
                })
                .collect::<StoreResult<_>>()?;
            for attempt in 0u32.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(sdk)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt == 8 {
                    return Err(StoreError::Backend(
                        "DynamoDB left items unprocessed after 8 attempts".into(),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
            }
        }
        Ok(())
    }

    async fn take(&self, key: &Key, now: i64) -> StoreResult<Option<Record>> {
        let e = condition_expression(Condition::Present, now).expect("Present has an expression");
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .condition_expression(e.text)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match out {
            Ok(out) => out.attributes.map(from_item).transpose(),
            Err(e) if e.as_service_error().is_some_and(is_condition_failure) => Ok(None),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn query(
        &self,
        query: &Query,
        limit: usize,
        cursor: Option<&Cursor>,
        now: i64,
    ) -> StoreResult<Page> {
        let limit = clamp_limit(limit);
        let mut start = match cursor {
            Some(c) => Some(start_key(query, c.start_for(query)?)),
            None => None,
        };
        let mut names = HashMap::from([("#exp".to_owned(), TTL_ATTRIBUTE.to_owned())]);
        let mut values = HashMap::from([(":now".to_owned(), n(now))]);
        let (index, key_condition) = match query {
            Query::Partition { pk, sk_prefix } => {
                names.insert("#p".into(), "pk".into());
                values.insert(":p".into(), s(pk));
                (
                    None,
                    prefixed("#p = :p", "sk", sk_prefix, &mut names, &mut values),
                )
            }
            Query::Lookup { pk, sk_prefix } => {
                names.insert("#p".into(), "lookup_pk".into());
                values.insert(":p".into(), s(pk));
                let kc = prefixed("#p = :p", "lookup_sk", sk_prefix, &mut names, &mut values);
                (Some(LOOKUP_INDEX), kc)
            }
            Query::Due { shard, until } => {
                names.insert("#p".into(), "sched_pk".into());
                names.insert("#at".into(), "sched_at".into());
                values.insert(":p".into(), s(shard));
                values.insert(":until".into(), n(*until));
                (Some(SCHEDULE_INDEX), "#p = :p AND #at <= :until".to_owned())
            }
            Query::Inventory { pk, after } => {
                names.insert("#p".into(), "inv_pk".into());
                values.insert(":p".into(), s(pk));
                let kc = match after {
                    Some(after) => {
                        names.insert("#s".into(), "inv_sk".into());
                        values.insert(":after".into(), s(after));
                        "#p = :p AND #s > :after".to_owned()
                    }
                    None => "#p = :p".to_owned(),
                };
                (Some(INVENTORY_INDEX), kc)
            }
        };
        let mut items = Vec::new();
        let mut read = 0usize;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .consistent_read(index.is_none())
                .key_condition_expression(&key_condition)
                .filter_expression("attribute_not_exists(#exp) OR #exp > :now")
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .limit((limit + 1 - items.len()) as i32)
                .send()
                .await
                .map_err(sdk)?;
            read += out.scanned_count.max(0) as usize;
            for item in out.items.unwrap_or_default() {
                items.push(from_item(item)?);
            }
            start = out.last_evaluated_key;
            if items.len() > limit || start.is_none() {
                break;
            }
        }
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|r| Cursor::after(r, query))
        } else {
            None
        };
        Ok(Page { items, next, read })
    }
}

impl DynamoTable {
    async fn write_one(&self, op: &WriteOp, now: i64) -> StoreResult<()> {
        match op {
            WriteOp::Put(r, c) => {
                let (text, names, values) = condition_parts(*c, now);
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(to_item(r)))
                    .set_condition_expression(text)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(write_error)
            }
            WriteOp::Delete(k, c) => {
                let (text, names, values) = condition_parts(*c, now);
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_item(k)))
                    .set_condition_expression(text)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(write_error)
            }
        }
    }
}

fn write_error<E, R>(e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if e.as_service_error().is_some_and(is_condition_failure) {
        StoreError::ConditionFailed
    } else {
        sdk(e)
    }
}

/// `base AND begins_with(attr, prefix)`, or just `base` for an empty prefix (DynamoDB
/// refuses an empty `begins_with` operand).
fn prefixed(
    base: &str,
    attr: &str,
    prefix: &str,
    names: &mut HashMap<String, String>,
    values: &mut Item,
) -> String {
    if prefix.is_empty() {
        return base.to_owned();
    }
    names.insert("#s".into(), attr.into());
    values.insert(":prefix".into(), s(prefix));
    format!("{base} AND begins_with(#s, :prefix)")
}

fn start_key(query: &Query, (key, isk): (Key, Option<IndexSort>)) -> Item {
    let mut item = key_item(&key);
    match (query, isk) {
        (Query::Lookup { pk, .. }, Some(IndexSort::Text(isk))) => {
            item.insert("lookup_pk".into(), s(pk));
            item.insert("lookup_sk".into(), s(isk));
        }
        (Query::Inventory { pk, .. }, Some(IndexSort::Text(isk))) => {
            item.insert("inv_pk".into(), s(pk));
            item.insert("inv_sk".into(), s(isk));
        }
        (Query::Due { shard, .. }, Some(IndexSort::Number(at))) => {
            item.insert("sched_pk".into(), s(shard));
            item.insert("sched_at".into(), n(at));
        }
        _ => {}
    }
    item
}
