/* mangen.c - writes the generated field reference of twprov.yaml(5) (a build-time tool)
 *
 *   twprov-mangen PAGE OUT       PAGE with the part between its markers generated, into OUT
 *   twprov-mangen --check PAGE   exit 1 when PAGE's generated part differs from the descriptors
 *
 * The build writes the installed page with it; the `man` target writes the
 * committed page (man/twprov.yaml.5) and a test runs --check on it.  The rest
 * of the page is prose written by hand and is copied as it is.
 */
#include <stdio.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/err.h"
#include "twprov/file.h"
#include "twprov/schema.h"

#define BEGIN_MARK ".\\\" BEGIN GENERATED FIELD REFERENCE"
#define END_MARK ".\\\" END GENERATED FIELD REFERENCE"
#define MAX_PAGE (4u << 20)

/* The start of the line `mark` begins in `s`, or NULL. */
static const char *line_starting(const char *s, const char *mark)
{
	for (const char *p = s; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, mark, strlen(mark)))
			return p;
	return NULL;
}

/* `page` with its generated part made again, into `out`; -1 when the markers are missing. */
static int regenerate(const char *page, struct tw_buf *out, struct tw_err *err)
{
	const char *begin = line_starting(page, BEGIN_MARK);
	const char *end = begin ? line_starting(begin, END_MARK) : NULL;
	const char *after_begin = begin ? strchr(begin, '\n') : NULL;

	if (!begin || !end || !after_begin) {
		tw_err_set(err, "the page has no \"%s\" ... \"%s\" lines", BEGIN_MARK, END_MARK);
		return -1;
	}
	tw_buf_add(out, page, (size_t)(after_begin + 1 - page));
	tw_schema_man(out);
	tw_buf_adds(out, end);
	return 0;
}

int main(int argc, char **argv)
{
	struct tw_buf page = TW_BUF_INIT, gen = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	int check = argc == 3 && !strcmp(argv[1], "--check");
	const char *in = check ? argv[2] : argv[1];
	int rc = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: twprov-mangen PAGE OUT | --check PAGE\n");
		return 64;
	}
	if (tw_read_file(in, MAX_PAGE, &page, NULL, &err) < 0 || regenerate(page.buf, &gen, &err) < 0) {
		fprintf(stderr, "twprov-mangen: %s: %s\n", in, err.msg);
		rc = 1;
	} else if (check && strcmp(page.buf, gen.buf)) {
		fprintf(stderr, "twprov-mangen: %s: the field reference differs from the kind descriptors; "
			"run `cmake --build BUILD --target man` and commit the page\n", in);
		rc = 1;
	} else if (!check && tw_write_atomic(argv[2], gen.buf, gen.len, 0644, &err) < 0) {
		fprintf(stderr, "twprov-mangen: %s\n", err.msg);
		rc = 1;
	}
	tw_buf_release(&page);
	tw_buf_release(&gen);
	return rc;
}
