/*
 * sc_rng.h: the tests' one random stream, splitmix64: small, fast, and
 * seeded so that the same seed gives the same run.
 */
#ifndef SC_RNG_H
#define SC_RNG_H

#include <stdint.h>

/* Steps *state and returns the next 64 random bits. */
static inline uint64_t sc_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

#endif /* SC_RNG_H */
