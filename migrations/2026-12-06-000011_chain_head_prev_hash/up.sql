-- The hash the head pointed at before its last move: the statement that appends a record
-- moves the head and reads the record's prev_hash back from the same row, so a record is
-- numbered, hashed and linked in one statement, under the row lock that orders the chain.
ALTER TABLE audit_chain_heads
    ADD COLUMN prev_hash bytea CHECK (prev_hash IS NULL OR octet_length(prev_hash) = 32);
