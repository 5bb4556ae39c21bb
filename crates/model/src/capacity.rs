//! Server capacity: a server is never promised more memory or storage than it has.

use thiserror::Error;

/// What a server has and what its containers already hold, in MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerCapacity {
    /// Memory the server offers to containers.
    pub memory: i64,
    /// Storage the server offers to containers.
    pub storage: i64,
    /// Memory promised to the server's containers.
    pub used_memory: i64,
    /// Storage promised to the server's containers.
    pub used_storage: i64,
}

/// Why a server cannot take a container.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CapacityError {
    /// The memory asked for is more than the server has free.
    #[error("not enough memory: {requested} MB requested, {free} MB free on the server")]
    NotEnoughMemory {
        /// Memory requested, in MB.
        requested: i64,
        /// Memory free, in MB.
        free: i64,
    },
    /// The storage asked for is more than the server has free.
    #[error("not enough storage: {requested} MB requested, {free} MB free on the server")]
    NotEnoughStorage {
        /// Storage requested, in MB.
        requested: i64,
        /// Storage free, in MB.
        free: i64,
    },
}

impl ServerCapacity {
    /// Memory not yet promised to any container.
    pub fn free_memory(&self) -> i64 {
        self.memory - self.used_memory
    }

    /// Storage not yet promised to any container.
    pub fn free_storage(&self) -> i64 {
        self.storage - self.used_storage
    }

    /// Checks that a container holding `old` (memory, storage) may hold `new` instead; a new
    /// container holds (0, 0). Shrinking always fits, even on an over-committed server.
    pub fn admit(&self, old: (i64, i64), new: (i64, i64)) -> Result<(), CapacityError> {
        let extra_memory = new.0 - old.0;
        let extra_storage = new.1 - old.1;
        if extra_memory > 0 && extra_memory > self.free_memory() {
            return Err(CapacityError::NotEnoughMemory {
                requested: new.0,
                free: self.free_memory() + old.0,
            });
        }
        if extra_storage > 0 && extra_storage > self.free_storage() {
            return Err(CapacityError::NotEnoughStorage {
                requested: new.1,
                free: self.free_storage() + old.1,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: ServerCapacity = ServerCapacity {
        memory: 1024,
        storage: 10_000,
        used_memory: 768,
        used_storage: 2_000,
    };

    #[test]
    fn a_container_that_fits_is_admitted() {
        assert_eq!(SERVER.admit((0, 0), (256, 8_000)), Ok(()));
    }

    #[test]
    fn memory_beyond_the_free_amount_is_refused() {
        assert_eq!(
            SERVER.admit((0, 0), (257, 100)),
            Err(CapacityError::NotEnoughMemory {
                requested: 257,
                free: 256
            })
        );
    }

    #[test]
    fn storage_beyond_the_free_amount_is_refused() {
        assert!(matches!(
            SERVER.admit((0, 0), (1, 8_001)),
            Err(CapacityError::NotEnoughStorage { .. })
        ));
    }

    #[test]
    fn a_resize_counts_the_container_own_share() {
        assert_eq!(SERVER.admit((256, 1_000), (512, 1_000)), Ok(()));
        assert!(SERVER.admit((256, 1_000), (513, 1_000)).is_err());
    }

    #[test]
    fn shrinking_an_overcommitted_server_is_allowed() {
        let over = ServerCapacity {
            used_memory: 2048,
            ..SERVER
        };
        assert_eq!(over.admit((512, 100), (256, 100)), Ok(()));
    }
}
