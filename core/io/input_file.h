/* input_file.h: how segrank opens the files it reads. Only regular files are
 * read (a FIFO, a device such as /dev/zero or a directory is refused instead
 * of blocking or reading without end), never more bytes than the file had
 * when opened nor more than a stated bound, and for the length-prefixed
 * formats (.srmodel, checkpoints, .srunary, .srranker) the 8-byte header
 * length is checked against the file's size before anything else is read. */
#ifndef SR_INPUT_FILE_H
#define SR_INPUT_FILE_H

#include <glib.h>

#include "../status.h"

/* Reads all of the regular file @path (at most @max_bytes, else an error
 * naming @kind, e.g. "model file"). @contents (g_free) is NUL-terminated. */
sr_status sr_input_read(const char *path, guint64 max_bytes, const char *kind, gchar **contents, gsize *size,
                        sr_error *err);

/* Reads a file that starts with a u64 little-endian header length N
 * (N ≤ @max_header and ≤ the file's size − 8) followed by N bytes of header:
 * the whole file, or with @header_only just those 8 + N bytes. @kind names
 * the format in messages ("segrank model", ".srunary file"). @contents
 * (g_free) is NUL-terminated; the header is at @contents + 8. */
sr_status sr_input_read_prefixed(const char *path, const char *kind, guint64 max_header, gboolean header_only,
                                 gchar **contents, gsize *size, guint64 *hlen, sr_error *err);

#endif
