/*
 * replay_main.c: a standalone runner for a fuzz target without libFuzzer.
 *
 *     replay_X PATH...
 *
 * Feeds every regular file named, and every regular file directly inside
 * every directory named (in name order, dot files skipped), to the
 * target's LLVMFuzzerTestOneInput, each from an exactly sized heap buffer
 * so that an over-read shows under ASan.  A finding aborts inside the
 * target, as it would under libFuzzer.  Exits 0 when every file ran, 1
 * when a path cannot be read or when there was nothing to run (a corpus
 * that went missing must not pass silently), 2 on bad usage.
 *
 * Built with the ordinary compiler as replay_cidr and replay_ops, and
 * registered with CTest (label `unit`) over the committed corpora, so the
 * Release and the ASan+UBSan builds check every corpus file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* scandir */
#endif
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, size_t *ran)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "replay: %s: %s\n", path, buf ? "read error" : "out of memory");
        free(buf);
        return 1;
    }
    /* Exactly n bytes: nothing after the input to read by mistake. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, n);
    free(buf);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    (*ran)++;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, size_t *ran)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (name[0] != '.') {
            size_t len = strlen(dir) + strlen(name) + 2;
            char *path = malloc(len);
            struct stat sb;
            if (!path) {
                bad = 1;
            } else {
                snprintf(path, len, "%s/%s", dir, name);
                if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) bad |= run_file(path, ran);
                free(path);
            }
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
        return 2;
    }
    size_t ran = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            bad = 1;
        } else if (S_ISDIR(sb.st_mode)) {
            bad |= run_dir(argv[i], &ran);
        } else {
            bad |= run_file(argv[i], &ran);
        }
    }
    printf("replay: %zu inputs ran%s\n", ran, bad ? ", some paths could not be read" : "");
    if (ran == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    return bad;
}
