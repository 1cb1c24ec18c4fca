package domain

import (
	"crypto/md5"
	"encoding/binary"
)

// Hash64 is Message DB's hash_64(): the first 8 bytes of the MD5 digest of
// value, read as a big-endian signed 64-bit integer.
func Hash64(value string) int64 {
	sum := md5.Sum([]byte(value))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// GroupHash returns the value a stream is partitioned by in consumer groups:
// abs(Hash64(CardinalID(name))), and false when the name has no id, in which
// case the stream belongs to no member (Message DB's hash_64(NULL) is NULL).
//
// Adapters store this value with each message so that group reads filter
// with "group_hash % size = member" through an index. The one hash whose
// absolute value does not fit an int64, math.MinInt64 (a 1 in 2^64 case),
// stays negative and so belongs to no member but 0 on every backend, where
// Message DB's @ operator would raise an error.
func GroupHash(name string) (int64, bool) {
	if !hasID(name) {
		return 0, false
	}
	h := Hash64(CardinalID(name))
	if h < 0 {
		h = -h
	}
	return h, true
}

// GroupMember returns the member of a consumer group of the given size that a
// stream belongs to, and false when it belongs to none (no id, or size < 1).
func GroupMember(name string, size int64) (int64, bool) {
	h, ok := GroupHash(name)
	if !ok || size < 1 {
		return 0, false
	}
	return h % size, true
}

// IsMember reports whether the stream belongs to member of a consumer group of
// size: abs(Hash64(CardinalID(name))) % size == member. A stream with no id
// belongs to no member.
func IsMember(name string, member, size int64) bool {
	m, ok := GroupMember(name, size)
	return ok && m == member
}
