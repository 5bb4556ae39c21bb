//! The uwsgi packet: a 4-byte header followed by `datasize` bytes of body.

use crate::error::WireError;

/// Length of the uwsgi header in bytes.
pub const HEADER_LEN: usize = 4;

/// The 4-byte uwsgi header: `modifier1`, little-endian `datasize`, `modifier2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Packet or request type (0 WSGI, 5 PSGI, 7 Rack, 224 subscription, …).
    pub modifier1: u8,
    /// Size of the body that follows (for requests, of the vars block only).
    pub datasize: u16,
    /// Sub-type (for subscriptions: 0 subscribe, 1 unsubscribe).
    pub modifier2: u8,
}

impl Header {
    /// Read a header from the first 4 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Header, WireError> {
        match bytes {
            [m1, lo, hi, m2, ..] => Ok(Header {
                modifier1: *m1,
                datasize: u16::from_le_bytes([*lo, *hi]),
                modifier2: *m2,
            }),
            _ => Err(WireError::ShortHeader),
        }
    }

    /// The header as it goes on the wire.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [lo, hi] = self.datasize.to_le_bytes();
        [self.modifier1, lo, hi, self.modifier2]
    }
}

/// A whole uwsgi packet borrowed from a buffer: its header and exactly `datasize` body bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The header.
    pub header: Header,
    /// The `datasize` bytes after the header.
    pub body: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Split `bytes` into header and body; bytes after the body are ignored
    /// (for a request they are its HTTP body).
    pub fn parse(bytes: &'a [u8]) -> Result<Packet<'a>, WireError> {
        let header = Header::parse(bytes)?;
        let rest = &bytes[HEADER_LEN..];
        let size = usize::from(header.datasize);
        let body = rest.get(..size).ok_or(WireError::ShortBody {
            announced: size,
            available: rest.len(),
        })?;
        Ok(Packet { header, body })
    }

    /// Build the wire bytes of a packet with this body.
    pub fn encode(modifier1: u8, modifier2: u8, body: &[u8]) -> Result<Vec<u8>, WireError> {
        let datasize = u16::try_from(body.len()).map_err(|_| WireError::TooLarge(body.len()))?;
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(
            &Header {
                modifier1,
                datasize,
                modifier2,
            }
            .to_bytes(),
        );
        out.extend_from_slice(body);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_little_endian() {
        let h = Header::parse(&[0xe0, 0x6a, 0x00, 0x01]).expect("header");
        assert_eq!(
            h,
            Header {
                modifier1: 224,
                datasize: 106,
                modifier2: 1
            }
        );
        assert_eq!(h.to_bytes(), [0xe0, 0x6a, 0x00, 0x01]);
    }

    #[test]
    fn short_inputs_are_errors() {
        assert_eq!(Header::parse(&[1, 2, 3]), Err(WireError::ShortHeader));
        assert_eq!(
            Packet::parse(&[0, 5, 0, 0, 1, 2]),
            Err(WireError::ShortBody {
                announced: 5,
                available: 2
            })
        );
    }

    #[test]
    fn encode_then_parse() {
        let bytes = Packet::encode(5, 0, b"abc").expect("encode");
        let p = Packet::parse(&bytes).expect("parse");
        assert_eq!(p.header.modifier1, 5);
        assert_eq!(p.body, b"abc");
        assert!(Packet::encode(0, 0, &vec![0; 70_000]).is_err());
    }
}
