//! The vars block: entries of `u16le key_len, key, u16le val_len, val`, no separator,
//! no terminator, its length given by the packet header.

use crate::error::WireError;

/// One entry of a vars block, borrowed from the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Byte offset of the entry (its key length prefix) within the block.
    pub offset: usize,
    /// The key bytes (never empty).
    pub key: &'a [u8],
    /// The value bytes (may be empty or binary).
    pub value: &'a [u8],
}

/// An iterator over the entries of a vars block.
///
/// It yields every well-formed entry, then at most one error (an empty key or a length
/// running past the end), then stops, the way uWSGI's parser reports entries before a bad one.
#[derive(Debug, Clone)]
pub struct Vars<'a> {
    block: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Vars<'a> {
    /// Iterate over the entries of `block`.
    pub fn new(block: &'a [u8]) -> Vars<'a> {
        Vars {
            block,
            pos: 0,
            failed: false,
        }
    }

    fn read_u16(&self, at: usize) -> Option<usize> {
        let b = self.block.get(at..at.checked_add(2)?)?;
        Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
    }

    fn next_entry(&self) -> Result<(Entry<'a>, usize), WireError> {
        let offset = self.pos;
        let truncated = WireError::Truncated(offset);
        let key_len = self.read_u16(offset).ok_or(truncated.clone())?;
        if key_len == 0 {
            return Err(WireError::EmptyKey(offset));
        }
        let key_start = offset + 2;
        let key = self
            .block
            .get(key_start..key_start + key_len)
            .ok_or(truncated.clone())?;
        let val_len_at = key_start + key_len;
        let val_len = self.read_u16(val_len_at).ok_or(truncated.clone())?;
        let val_start = val_len_at + 2;
        let value = self
            .block
            .get(val_start..val_start + val_len)
            .ok_or(truncated)?;
        Ok((Entry { offset, key, value }, val_start + val_len))
    }
}

impl<'a> Iterator for Vars<'a> {
    type Item = Result<Entry<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.block.len() {
            return None;
        }
        match self.next_entry() {
            Ok((entry, next)) => {
                self.pos = next;
                Some(Ok(entry))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Parse a whole vars block strictly: every entry must be well formed.
pub fn parse_strict(block: &[u8]) -> Result<Vec<Entry<'_>>, WireError> {
    Vars::new(block).collect()
}

/// Builds a vars block entry by entry.
#[derive(Debug, Clone, Default)]
pub struct VarsBuilder {
    buf: Vec<u8>,
}

impl VarsBuilder {
    /// An empty block.
    pub fn new() -> VarsBuilder {
        VarsBuilder::default()
    }

    /// An empty block with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> VarsBuilder {
        VarsBuilder {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Append one entry; keys and values longer than 65535 bytes are refused.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> Result<&mut Self, WireError> {
        let k = u16::try_from(key.len()).map_err(|_| WireError::EntryTooLarge(key.len()))?;
        let v = u16::try_from(value.len()).map_err(|_| WireError::EntryTooLarge(value.len()))?;
        self.buf.extend_from_slice(&k.to_le_bytes());
        self.buf.extend_from_slice(key);
        self.buf.extend_from_slice(&v.to_le_bytes());
        self.buf.extend_from_slice(value);
        Ok(self)
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Length of the block so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no entry was pushed.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The finished block.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut b = VarsBuilder::new();
        b.push(b"key", b"test.local:8080")
            .and_then(|b| b.push(b"empty", b""))
            .expect("push");
        let block = b.into_bytes();
        let entries = parse_strict(&block).expect("parse");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].key, b"key");
        assert_eq!(entries[0].value, b"test.local:8080");
        assert_eq!(entries[1].offset, 2 + 3 + 2 + 15);
        assert_eq!(entries[1].value, b"");
    }

    #[test]
    fn errors_after_good_entries() {
        let mut b = VarsBuilder::new();
        b.push(b"a", b"1").expect("push");
        let mut block = b.into_bytes();
        block.extend_from_slice(&[0, 0, 1, 0, b'x']);
        let items: Vec<_> = Vars::new(&block).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1], Err(WireError::EmptyKey(6)));
        assert_eq!(
            parse_strict(&[5, 0, b'a']).map(|v| v.len()),
            Err(WireError::Truncated(0))
        );
        assert!(parse_strict(&[1]).is_err());
        assert_eq!(parse_strict(&[]).map(|v| v.len()), Ok(0));
    }
}
