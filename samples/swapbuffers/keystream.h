/*
 * keystream.h - the swapbuffers sample's transform: file data XORed with
 * a ChaCha20 keystream (RFC 8439 block function) addressed by the byte's
 * offset in the file, so any range can be transformed on its own and the
 * transform is its own inverse.
 *
 * Block n of a file (bytes 64n .. 64n+63) uses block counter n mod 2^32
 * and nonce (n >> 32, 0, 0).  The 256-bit key is derived from the Key
 * parameter by ks_derive_key, a fixed mixing of its bytes, not a password
 * hash.
 */
#ifndef SWAPBUFFERS_KEYSTREAM_H
#define SWAPBUFFERS_KEYSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct ks_key {
	uint32_t k[8];
};

/* One RFC 8439 ChaCha20 block. */
void ks_chacha20_block(const uint32_t key[8], uint32_t counter,
		       const uint32_t nonce[3], uint8_t out[64]);
/* The key for a passphrase of len bytes. */
void ks_derive_key(const void *pass, size_t len, struct ks_key *key);
/* out[i] = in[i] ^ keystream[offset + i] for i < len (in may be out). */
void ks_xor(const struct ks_key *key, uint64_t offset, const void *in,
	    void *out, size_t len);

#endif /* SWAPBUFFERS_KEYSTREAM_H */
