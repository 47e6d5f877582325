# Reads the KB's markdown (the seed) and writes what an admin types and
# what the KB says comes back, one record per line:
#
#   H <text>           a heading
#   S <n> <text>       a numbered step (its first line)
#   I <text>           a list item that is an instruction, not a command
#   C <prompt>\t<cmd>  a command, as the KB types it (prompt DISKPART or C)
#   O <text>           a line of the KB's output of the command before it
#   Q <text>           a line the KB quotes outside a command (a boot message)
#
# Markup is dropped (backticks, "> " quoting, trailing "<---- ..." notes);
# the text is otherwise the KB's, spaces and all. Notes ("[!NOTE]") end
# a command's output and are skipped.
#
#   awk -f scripts/kb-extract.awk ../shared/seed/000_565f4e7e6ef220e7.txt
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
BEGIN { fm = 0; mode = "" }
NR == 1 && /^---$/ { fm = 1; next }
fm { if (/^---$/) fm = 0; next }
/^#+ / { t = $0; sub(/^#+ /, "", t); print "H " trim(t); mode = ""; next }
/^ ? ? ? ?[0-9]+\. / {
	t = trim($0); n = t; sub(/\..*/, "", n); sub(/^[0-9]+\. */, "", t)
	print "S " n " " t; mode = ""; next
}
# A list item: a command when it starts with a prompt, else an instruction.
/^[ \t]*-[ \t]*/ {
	t = trim($0); sub(/^-[ \t]*/, "", t); gsub(/`/, "", t)
	if (t ~ /^DISKPART> / || t ~ /^C:\\?>/ || t ~ /^C:\\bootcfg/) {
		if (t ~ /^DISKPART> /) { p = "DISKPART"; sub(/^DISKPART> /, "", t) }
		else { p = "C"; sub(/^C:\\?>? ?/, "", t) }
		print "C " p "\t" trim(t); mode = "out"
	} else {
		print "I " t; mode = ""
	}
	next
}
/^[ \t]*>[ \t]*\[!NOTE\]/ { mode = "note"; next }
/^[ \t]*$/ { if (mode == "note" || mode == "quote") mode = ""; next }
{
	t = $0
	quoted = (t ~ /^[ \t]*>/)
	sub(/^[ \t]*>[ \t]?/, "", t)
	sub(/^[ \t]*>[ \t]?/, "", t)
	sub(/[ \t]*<----.*$/, "", t)
	t = trim(t)
	if (mode == "out") { if (t != "") print "O " t; next }
	if (mode == "note") next
	# A quote outside a command, or one a lazy line continues.
	if (quoted || mode == "quote") {
		if (quoted) mode = "quote"
		if (t != "") print "Q " t
		next
	}
}
