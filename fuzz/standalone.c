/*
 * Replay main for builds without a fuzzing engine (c-ares test/ares-fuzz.c,
 * curl-fuzzer's standalone runner): every argument is a file or a directory;
 * each file (directories: each regular file inside, recursively, in sorted
 * order, skipping dot-files) is read, copied into a heap buffer of exactly its
 * size -- so Valgrind and ASan see any over-read -- and passed once to
 * LLVMFuzzerTestOneInput().  A bug aborts inside the target; this program
 * exits 1 on unreadable input or when no input at all was found (an empty
 * corpus is a configuration error, not a pass).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fdp.h"

static size_t replayed;

static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *tmp = malloc(cap);
	if (!tmp) {
		fclose(fp);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *t = realloc(tmp, cap *= 2);
			if (!t) {
				free(tmp);
				fclose(fp);
				return -1;
			}
			tmp = t;
		}
		size_t n = fread(tmp + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	int bad = ferror(fp);
	fclose(fp);
	if (bad) {
		fprintf(stderr, "%s: read error\n", path);
		free(tmp);
		return -1;
	}
	/* The exact-size copy: one byte past the input is outside the block. */
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		free(tmp);
		return -1;
	}
	memcpy(buf, tmp, len);
	free(tmp);
	if (getenv("SW_FUZZ_VERBOSE"))
		fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(len ? buf : NULL, len);
	free(buf);
	replayed++;
	return 0;
}

static int skip_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int replay_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);

	struct dirent **names;
	int n = scandir(path, &names, skip_dots, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		size_t need = strlen(path) + 1 + strlen(names[i]->d_name) + 1;
		char *child = malloc(need);
		if (!child) {
			rc = -1;
		} else {
			snprintf(child, need, "%s/%s", path, names[i]->d_name);
			if (replay_path(child) != 0)
				rc = -1;
			free(child);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i]) != 0)
			rc = 1;
	if (replayed == 0) {
		fprintf(stderr, "%s: no input found\n", argv[0]);
		return 1;
	}
	printf("%s: replayed %zu input(s)%s\n", argv[0], replayed,
	       rc ? ", some could not be read" : "");
	return rc;
}
