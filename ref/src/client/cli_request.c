/*
 * Request encoding for the client core: the whole message of a call in v3,
 * v2 or v1 (a v3 body stream piece by piece as its producer delivers it),
 * and Breezy's verb registry info, which decides whether a request may be
 * sent twice (client._SmartClientRequest._is_safe_to_send_twice).
 */
#include <string.h>

#include "cli_impl.h"
#include "smartwire/error.h"
#include "smartwire/v12.h"

/* request.request_handlers.get_info(verb) for every verb Breezy 3.3.2
 * registers (generated from request.py; sorted for bsearch). */
static const struct verb_info {
	const char *verb;
	const char *info;
} verbs[] = {
    {"Branch.break_lock", "idem"},
    {"Branch.get_all_reference_info", "read"},
    {"Branch.get_config_file", "read"},
    {"Branch.get_parent", "read"},
    {"Branch.get_physical_lock_status", "read"},
    {"Branch.get_stacked_on_url", "read"},
    {"Branch.get_tags_bytes", "read"},
    {"Branch.heads_to_fetch", "read"},
    {"Branch.last_revision_info", "read"},
    {"Branch.lock_write", "semi"},
    {"Branch.put_config_file", "idem"},
    {"Branch.revision_history", "read"},
    {"Branch.revision_id_to_revno", "read"},
    {"Branch.set_config_option", "idem"},
    {"Branch.set_config_option_dict", "idem"},
    {"Branch.set_last_revision", "idem"},
    {"Branch.set_last_revision_ex", "idem"},
    {"Branch.set_last_revision_info", "idem"},
    {"Branch.set_parent_location", "idem"},
    {"Branch.set_tags_bytes", "idem"},
    {"Branch.unlock", "semi"},
    {"BzrDir.checkout_metadir", "read"},
    {"BzrDir.cloning_metadir", "read"},
    {"BzrDir.create_branch", "semi"},
    {"BzrDir.create_repository", "semi"},
    {"BzrDir.destroy_branch", "semi"},
    {"BzrDir.destroy_repository", "semi"},
    {"BzrDir.find_repository", "read"},
    {"BzrDir.find_repositoryV2", "read"},
    {"BzrDir.find_repositoryV3", "read"},
    {"BzrDir.get_branches", "read"},
    {"BzrDir.get_config_file", "read"},
    {"BzrDir.has_workingtree", "read"},
    {"BzrDir.open", "read"},
    {"BzrDir.open_2.1", "read"},
    {"BzrDir.open_branch", "read"},
    {"BzrDir.open_branchV2", "read"},
    {"BzrDir.open_branchV3", "read"},
    {"BzrDirFormat.initialize", "semi"},
    {"BzrDirFormat.initialize_ex_1.16", "semi"},
    {"PackRepository.autopack", "idem"},
    {"Repository.abort_write_group", "semi"},
    {"Repository.add_signature_text", "idem"},
    {"Repository.all_revision_ids", "read"},
    {"Repository.annotate_file_revision", "read"},
    {"Repository.break_lock", "idem"},
    {"Repository.check_write_group", "read"},
    {"Repository.commit_write_group", "semi"},
    {"Repository.gather_stats", "read"},
    {"Repository.get_parent_map", "read"},
    {"Repository.get_physical_lock_status", "read"},
    {"Repository.get_rev_id_for_revno", "read"},
    {"Repository.get_revision_graph", "read"},
    {"Repository.get_revision_signature_text", "read"},
    {"Repository.get_stream", "read"},
    {"Repository.get_stream_1.19", "read"},
    {"Repository.get_stream_for_missing_keys", "read"},
    {"Repository.has_revision", "read"},
    {"Repository.has_signature_for_revision_id", "read"},
    {"Repository.insert_stream", "stream"},
    {"Repository.insert_stream_1.19", "stream"},
    {"Repository.insert_stream_locked", "stream"},
    {"Repository.is_shared", "read"},
    {"Repository.iter_files_bytes", "read"},
    {"Repository.iter_revisions", "read"},
    {"Repository.lock_write", "semi"},
    {"Repository.make_working_trees", "read"},
    {"Repository.pack", "idem"},
    {"Repository.reconcile", "idem"},
    {"Repository.revision_archive", "read"},
    {"Repository.set_make_working_trees", "idem"},
    {"Repository.start_write_group", "semi"},
    {"Repository.tarball", "read"},
    {"Repository.unlock", "semi"},
    {"Transport.is_readonly", "read"},
    {"VersionedFileRepository.get_inventories", "read"},
    {"VersionedFileRepository.get_serializer_format", "read"},
    {"append", "mutate"},
    {"delete", "semivfs"},
    {"get", "read"},
    {"get_bundle", "read"},
    {"has", "read"},
    {"hello", "read"},
    {"iter_files_recursive", "read"},
    {"list_dir", "read"},
    {"mkdir", "semivfs"},
    {"move", "semivfs"},
    {"put", "idem"},
    {"put_non_atomic", "idem"},
    {"readv", "read"},
    {"rename", "semivfs"},
    {"rmdir", "semivfs"},
    {"stat", "read"},
};

static int cmp_verb(sw_slice v, const char *z)
{
	size_t n = strlen(z);
	int c = memcmp(v.p, z, v.n < n ? v.n : n);
	if (c)
		return c;
	return v.n < n ? -1 : v.n > n;
}

const char *sw__cli_verb_info(sw_slice verb)
{
	size_t lo = 0, hi = sizeof verbs / sizeof *verbs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_verb(verb, verbs[mid].verb);
		if (c == 0)
			return verbs[mid].info;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

bool sw__cli_safe_to_send_twice(const sw_cli_conn *c, const sw_call *call)
{
	if (call->body_kind == SW_CALL_BODY_STREAM || c->cfg.no_retry)
		return false;
	const char *info = sw__cli_verb_info(call->verb);
	return info && (!strcmp(info, "read") || !strcmp(info, "idem") || !strcmp(info, "semi"));
}

/* ---- encoding ---------------------------------------------------------- */

/* The whole tuple (verb, args...) in *all; *heap is set when it had to be
 * allocated (free it with sw_free). */
static int full_args(sw_cli_conn *c, const sw_call *call, sw_slice *stack, size_t nstack,
                     sw_slice **all, sw_slice **heap)
{
	size_t n = call->nargs + 1;
	*heap = NULL;
	*all = stack;
	if (n > nstack) {
		*heap = *all = sw_malloc(c->mem, n * sizeof(sw_slice));
		if (!*all)
			return SW_ERR_NOMEM;
	}
	(*all)[0] = call->verb;
	if (call->nargs)
		memcpy(*all + 1, call->args, call->nargs * sizeof(sw_slice));
	return 0;
}

static int put_v3(sw_cli_conn *c, const sw_call *call, const sw_slice *a, size_t n)
{
	sw_buf *o = &c->out;
	int rc = sw_v3_put_marker(o);
	if (!rc)
		rc = c->cfg.headers_set ? sw_v3_put_headers(o, c->cfg.headers, c->cfg.header_pairs)
		                        : sw_v3_put_default_headers(o);
	if (!rc)
		rc = sw_v3_put_args(o, a, n);
	if (!rc && call->body_kind == SW_CALL_BODY_BYTES) {
		rc = sw_v3_put_bytes(o, call->body.p, call->body.n);
	} else if (!rc && call->body_kind == SW_CALL_BODY_READV) {
		sw_buf rv;
		sw_buf_init(&rv, c->mem);
		rc = sw_readv_serialise(&rv, call->ranges, call->nranges);
		if (!rc)
			rc = sw_v3_put_bytes(o, rv.data, rv.len);
		sw_buf_fini(&rv);
	}
	if (!rc && call->body_kind != SW_CALL_BODY_STREAM)
		rc = sw_v3_put_end(o);
	return rc;
}

int sw__cli_encode_call(sw_cli_conn *c, const sw_call *call, int version)
{
	sw_buf_reset(&c->out);
	c->out_off = 0;
	c->stream = ST_NONE;
	if (version < 3 && call->body_kind == SW_CALL_BODY_STREAM) {
		/* Breezy SmartClientRequestProtocolOne.call_with_body_stream:
		 * nothing is sent; the verb counts as unknown to the server. */
		return sw__cli_record_unknown(c, call->verb.p, call->verb.n);
	}
	sw_slice stack[8], *all, *heap;
	int rc = full_args(c, call, stack, 8, &all, &heap);
	if (rc < 0)
		return rc;
	size_t n = call->nargs + 1;
	/* The whole message goes out in one write, as Breezy's encoders buffer
	 * it until the end: Breezy's pipe server answers a call as soon as it has
	 * the args, and if the final bytes of a request arrived separately they
	 * could be read together with the next request into the server's stdin
	 * buffer, where its select() does not see them (protocol-reference §6.1)
	 * and the next call would hang.  Only body streams are written piecewise,
	 * flushed after the head and after each chunk like Breezy. */
	if (version == 3)
		rc = put_v3(c, call, all, n);
	else if (call->body_kind == SW_CALL_BODY_READV)
		rc = sw_v12_encode_request_readv(&c->out, version, all, n, call->ranges,
		                                 call->nranges);
	else
		rc = sw_v12_encode_request(&c->out, version, all, n,
		                           call->body_kind == SW_CALL_BODY_BYTES ? &call->body
		                                                                 : NULL);
	sw_free(c->mem, heap);
	if (rc == 0 && version == 3 && call->body_kind == SW_CALL_BODY_STREAM)
		c->stream = ST_PULL;
	return rc;
}

int sw__cli_encode_stream_next(sw_cli_conn *c, const sw_call *call)
{
	sw_slice chunk = {NULL, 0};
	int more = call->stream(call->stream_ud, &chunk);
	sw_buf_reset(&c->out);
	c->out_off = 0;
	if (more < 0) {
		c->stream = ST_ABORT;
		return sw_v3_encode_request_abort(&c->out);
	}
	if (more == 0) {
		c->stream = ST_END;
		return sw_v3_put_end(&c->out);
	}
	if (chunk.n > UINT32_MAX)
		return SW_ERR_INVALID_ARGUMENT;
	int rc = sw_v3_put_bytes_prefix(&c->out, (uint32_t)chunk.n);
	return rc || !chunk.n ? rc : sw_buf_append(&c->out, chunk.p, chunk.n);
}
