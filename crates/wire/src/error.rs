//! What can be wrong with bytes that claim to be uwsgi.

/// A malformed uwsgi packet, vars block or subscription.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer than the 4 bytes of a header.
    #[error("packet shorter than the 4-byte uwsgi header")]
    ShortHeader,
    /// The header announces more body bytes than the packet has.
    #[error("header announces {announced} body bytes but {available} are present")]
    ShortBody {
        /// The datasize of the header.
        announced: usize,
        /// The bytes that followed the header.
        available: usize,
    },
    /// A vars entry with an empty key.
    #[error("vars entry at offset {0} has an empty key")]
    EmptyKey(usize),
    /// A length prefix that runs past the end of the block.
    #[error("vars entry at offset {0} runs past the end of the block")]
    Truncated(usize),
    /// A vars block larger than the 65535 bytes a header can announce.
    #[error("vars block of {0} bytes exceeds the 65535 a uwsgi header can carry")]
    TooLarge(usize),
    /// A key or value longer than 65535 bytes.
    #[error("a vars key or value of {0} bytes exceeds 65535")]
    EntryTooLarge(usize),
    /// A packet whose modifier1 is not 224 where a subscription was expected.
    #[error("modifier1 {0} is not a subscription (224)")]
    NotSubscription(u8),
    /// A subscription whose modifier2 is neither 0 (subscribe) nor 1 (unsubscribe).
    #[error("subscription modifier2 {0} is neither subscribe (0) nor unsubscribe (1)")]
    UnknownSubscriptionKind(u8),
    /// A subscription without a `key`, or with one longer than 255 bytes.
    #[error("subscription key missing, empty or longer than 255 bytes")]
    BadKey,
    /// A subscription without an `address`, or with one longer than 255 bytes.
    #[error("subscription address missing, empty or longer than 255 bytes")]
    BadAddress,
    /// A text field (key, address, path, …) that is not UTF-8.
    #[error("subscription field {0} is not UTF-8")]
    NotUtf8(&'static str),
    /// A `sign` entry that is not the last one, as the signed base requires.
    #[error("the sign entry must be the last entry of a subscription")]
    SignNotLast,
}

/// A malformed HTTP/1.x response from a node: its head or its chunked body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Http1Error {
    /// The status line or a header is not HTTP/1.x.
    #[error("malformed response head: {0}")]
    Head(&'static str),
    /// The head is larger than [`MAX_HEAD`](crate::response_head::MAX_HEAD) bytes.
    #[error("response head larger than 64 KiB")]
    HeadTooLarge,
    /// A Content-Length that is not a number, or several that differ.
    #[error("invalid Content-Length")]
    ContentLength,
    /// A chunk size line that is not hexadecimal, or too long.
    #[error("invalid chunk size line")]
    ChunkSize,
    /// Chunk data not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    ChunkEnd,
    /// Trailers larger than 64 KiB or a line without an end.
    #[error("trailer section too large")]
    TrailersTooLarge,
}
