/* Host check of the engine's tg_crc32 against zlib's crc32, built by tests/test_crc32.py with
 * AddressSanitizer/UBSan (and once with -DTG_CRC32_BYTE_LOADS, the portable word loads).
 * Every case gets a heap buffer of exactly offset+length bytes, so any read past the end or
 * before the start of the data is an ASan error. Exit status 0 and "ok <cases>" when all agree.
 *
 *   cc -fsanitize=address,undefined -Iusermod_tinygan/engine usermod_tinygan/engine/tg_crc32.c \
 *      usermod_tinygan/tools/crc_check.c -lz && ./a.out
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tg_engine.h"

#define MAX_LEN 5000u

static uint32_t rng_state = 0x12345678u;

static uint8_t next_byte(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (uint8_t)(rng_state >> 24);
}

int main(void)
{
    static uint8_t pool[MAX_LEN + 8];
    for (size_t i = 0; i < sizeof pool; i++)
        pool[i] = next_byte();
    unsigned long cases = 0;
    for (unsigned off = 0; off < 8; off++) {
        for (unsigned len = 0; len <= MAX_LEN; len++) {
            uint8_t *buf = malloc(off + len ? off + len : 1);
            if (!buf)
                return 2;
            memcpy(buf + off, pool + off, len);
            uint32_t want = (uint32_t)crc32(0L, pool + off, len);
            unsigned split = len ? (unsigned)(next_byte() * 256u + next_byte()) % (len + 1u) : 0;
            uint32_t one = tg_crc32(0, buf + off, len);
            uint32_t two = tg_crc32(tg_crc32(0, buf + off, split), buf + off + split, len - split);
            free(buf);
            if (one != want || two != want) {
                printf("mismatch at offset %u length %u split %u: %08lx %08lx, zlib %08lx\n", off, len, split,
                       (unsigned long)one, (unsigned long)two, (unsigned long)want);
                return 1;
            }
            cases++;
        }
    }
    printf("ok %lu\n", cases);
    return 0;
}
