/* fuzz.h - the libFuzzer entry points of the harnesses (also driven by replay.c) */
#ifndef TWPROV_FUZZ_H
#define TWPROV_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
