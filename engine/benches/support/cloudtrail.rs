//! CloudTrail DynamoDB data events in the shape of the shared side-by-side generator
//! (`../shared/bench/gen_cloudtrail.py`, what `scripts/bench-vs-duckdb` scans): per user a
//! GetItem, then in 70% of cases an UpdateItem/DeleteItem 0–3 s later, half of them with
//! `owner_id = :uid` as condition; now and then an IAM `DeleteAccessKey` of a user's key.
//! Deterministic for a given seed (not byte-identical to the Python generator: another PRNG).

use std::fmt::Write as _;

const ACCOUNT: &str = "111122223333";
const USERS: usize = 2000;
/// 2026-10-01T00:00:00Z, the Python generator's first second.
const T0_S: i64 = 1_790_812_800;

/// SplitMix64: a few lines, no dependency, good enough to spread the calls.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `n` CloudTrail records, each one compact JSON object, in generation order.
pub fn records(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let keys: Vec<String> = (0..USERS)
        .map(|_| {
            let tail: String = (0..16)
                .map(|_| char::from(BASE32.get(rng.below(BASE32.len())).copied().unwrap_or(b'A')))
                .collect();
            format!("AKIA{tail}")
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    let mut sec = 0.0f64;
    while out.len() < n {
        let user = rng.below(USERS);
        sec += rng.unit() * 0.02;
        let item = format!(r#"{{"orderId":"ord-{:06}"}}"#, rng.below(200_000));
        let consistent = rng.unit() < 0.5;
        let params =
            format!(r#"{{"tableName":"Orders","key":{item},"consistentRead":{consistent}}}"#);
        out.push(record(&mut rng, &keys, user, sec, "GetItem", &params, None));
        if rng.unit() < 0.7 && out.len() < n {
            let op = ["UpdateItem", "UpdateItem", "DeleteItem"]
                .get(rng.below(3))
                .copied()
                .unwrap_or("UpdateItem");
            let mut params = format!(r#"{{"tableName":"Orders","key":{item}"#);
            if op == "UpdateItem" {
                params.push_str(
                    r##","updateExpression":"SET #s = :s","expressionAttributeNames":{"#s":"status"}"##,
                );
            }
            if rng.unit() < 0.5 {
                params.push_str(r#","conditionExpression":"owner_id = :uid""#);
            }
            params.push('}');
            let at = sec + rng.unit() * 3.0;
            out.push(record(&mut rng, &keys, user, at, op, &params, None));
        }
        if rng.unit() < 0.0005 && out.len() < n {
            let key = keys.get(user).map_or("", String::as_str);
            let params = format!(r#"{{"userName":"user{user:04}","accessKeyId":"{key}"}}"#);
            out.push(record(
                &mut rng,
                &keys,
                0,
                sec,
                "DeleteAccessKey",
                &params,
                Some("iam.amazonaws.com"),
            ));
        }
    }
    out
}

/// One record; `management_source` makes it a management event of that service.
fn record(
    rng: &mut Rng,
    keys: &[String],
    user: usize,
    sec: f64,
    name: &str,
    params: &str,
    management_source: Option<&str>,
) -> String {
    let key = keys.get(user).map_or("", String::as_str);
    let time = chrono::DateTime::from_timestamp(T0_S + sec as i64, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let data = management_source.is_none();
    let mut r = String::with_capacity(1024);
    let _ = write!(
        r,
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDA{}","arn":"arn:aws:iam::{ACCOUNT}:user/user{user:04}","accountId":"{ACCOUNT}","accessKeyId":"{key}","userName":"user{user:04}"}},"eventTime":"{time}","eventSource":"{}","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.{}","userAgent":"aws-sdk-java/2.25.6 Linux/5.10 OpenJDK_64-Bit_Server_VM/17","requestParameters":{params},"responseElements":null,"requestID":"{:016X}{:016X}","eventID":"{:08x}-{:04x}-{:04x}-{:04x}-{:012x}","readOnly":{},"eventType":"AwsApiCall","managementEvent":{},"recipientAccountId":"{ACCOUNT}","eventCategory":"{}""#,
        key.get(4..).unwrap_or(""),
        management_source.unwrap_or("dynamodb.amazonaws.com"),
        user % 250,
        rng.next(),
        rng.next(),
        rng.next() >> 32,
        rng.next() >> 48,
        rng.next() >> 48,
        rng.next() >> 48,
        rng.next() >> 16,
        name.starts_with("Get") || name.starts_with("Query") || name.starts_with("Scan"),
        !data,
        if data { "Data" } else { "Management" },
    );
    if data {
        let _ = write!(
            r,
            r#","resources":[{{"accountId":"{ACCOUNT}","type":"AWS::DynamoDB::Table","ARN":"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders"}}]"#
        );
    }
    r.push('}');
    r
}

/// The records as one CloudTrail log file, `{"Records":[...]}` on one line, as S3 receives it.
pub fn document(records: &[String]) -> String {
    format!(r#"{{"Records":[{}]}}"#, records.join(","))
}
