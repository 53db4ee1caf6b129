/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fragment tests of test_frag.c with three workers: a datagram's
 * fragments may reach a worker that owns neither its inside host nor its
 * outside port, and its reply a third one.
 */
#define FRAG_WORKERS 3
#define FRAG_PREFIX  "unit-frag3"
#include "test_frag.c"
