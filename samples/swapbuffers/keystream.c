/*
 * keystream.c - ChaCha20 keystream by file offset (keystream.h).
 */
#include "keystream.h"

#include <string.h>

#define KS_ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define KS_QR(a, b, c, d)                          \
	do {                                       \
		a += b; d ^= a; d = KS_ROTL(d, 16); \
		c += d; b ^= c; b = KS_ROTL(b, 12); \
		a += b; d ^= a; d = KS_ROTL(d, 8);  \
		c += d; b ^= c; b = KS_ROTL(b, 7);  \
	} while (0)

static uint32_t ks_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void ks_chacha20_block(const uint32_t key[8], uint32_t counter,
		       const uint32_t nonce[3], uint8_t out[64])
{
	uint32_t in[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
	uint32_t x[16];
	int i;

	memcpy(in + 4, key, 32);
	in[12] = counter;
	memcpy(in + 13, nonce, 12);
	memcpy(x, in, sizeof(x));
	for (i = 0; i < 10; i++) {
		KS_QR(x[0], x[4], x[8], x[12]);
		KS_QR(x[1], x[5], x[9], x[13]);
		KS_QR(x[2], x[6], x[10], x[14]);
		KS_QR(x[3], x[7], x[11], x[15]);
		KS_QR(x[0], x[5], x[10], x[15]);
		KS_QR(x[1], x[6], x[11], x[12]);
		KS_QR(x[2], x[7], x[8], x[13]);
		KS_QR(x[3], x[4], x[9], x[14]);
	}
	for (i = 0; i < 16; i++) {
		uint32_t v = x[i] + in[i];

		out[4 * i] = (uint8_t)v;
		out[4 * i + 1] = (uint8_t)(v >> 8);
		out[4 * i + 2] = (uint8_t)(v >> 16);
		out[4 * i + 3] = (uint8_t)(v >> 24);
	}
}

void ks_derive_key(const void *pass, size_t len, struct ks_key *key)
{
	static const uint32_t zero[8], nonce[3] = { 0x70617773, 0, 0 };
	const uint8_t *p = pass;
	uint8_t block[64];
	uint32_t k[8];
	size_t i;

	/* Fold the passphrase 32 bytes at a time through the block function. */
	memcpy(k, zero, sizeof(k));
	for (i = 0; i == 0 || i < len; i += 32) {
		uint8_t chunk[32] = { 0 };
		size_t n = len - i < 32 ? len - i : 32;
		int j;

		if (len)
			memcpy(chunk, p + i, n);
		for (j = 0; j < 8; j++)
			k[j] ^= ks_le32(chunk + 4 * j);
		ks_chacha20_block(k, (uint32_t)(i / 32), nonce, block);
		for (j = 0; j < 8; j++)
			k[j] = ks_le32(block + 4 * j) ^ (uint32_t)len;
	}
	memcpy(key->k, k, sizeof(k));
}

void ks_xor(const struct ks_key *key, uint64_t offset, const void *in,
	    void *out, size_t len)
{
	const uint8_t *src = in;
	uint8_t *dst = out, block[64];

	while (len) {
		uint64_t n = offset / 64;
		uint32_t nonce[3] = { (uint32_t)(n >> 32), 0, 0 };
		size_t at = (size_t)(offset % 64), take = 64 - at, i;

		if (take > len)
			take = len;
		ks_chacha20_block(key->k, (uint32_t)n, nonce, block);
		for (i = 0; i < take; i++)
			dst[i] = src[i] ^ block[at + i];
		src += take;
		dst += take;
		offset += take;
		len -= take;
	}
}
