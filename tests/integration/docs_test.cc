// The documentation describes what is built (issue 15, "Documentation hygiene"): README.md and
// every docs/**/*.md page, read from the source tree, are checked three ways. Only Markdown
// that renders as code counts as code: inline code spans (which may run over several lines of
// a paragraph) and fenced code blocks; prose is never read as a command or a key.
//
// Links. Every link [text](target) and image ![alt](target) outside code, whose target has no
// scheme (http:, https:, mailto: are not checked: no network), names a file or directory of the
// repository, relative to its page, without leaving the repository. An #anchor into a .md page
// ([x](page.md#anchor), or [x](#anchor) into its own page) matches a heading of that page under
// GitHub's slug rules: the heading's text as rendered (code spans' content, links' text) in
// lower case, each space a '-', every character that is not a letter, a digit, '-' or '_'
// dropped (so " — " leaves "--"), and the second heading of a slug gets "-1", the third "-2".
//
// Commands. Every `opsready ...` written as code: an inline code span that starts with it, or a
// line of a shell code block (```sh, ```bash, ```console, ```shell or a block with no language)
// on which it is a command (first on the line, after a `$ ` prompt, or after &&, ||, ;, | or
// $( ). A path that ends in /opsready (./build/dev/bin/opsready) counts too. The words after it
// are the command path, up to the first word that is an option or a placeholder (it starts with
// - < [ { $ # ( or a quote, or holds an upper-case letter or one of = / . : , *) or that follows
// a command without subcommands (an argument: `opsready replay recorded.jsonl`). A word a|b|c
// is alternatives, each checked. For each path, `opsready PATH --help` must exit 0 and print
// the usage of PATH ("Usage: opsready PATH ..."): CLI11 answers --help with exit 0 even after a
// word it does not know, so the usage line is what proves the path exists.
//
// Configuration keys. The known keys are app::known_config_keys(), every dotted path the
// configuration reader takes, listed from its own tables. Rule for lists and maps: the items of a
// list of mappings are written `[]` or by index (`alerting.receivers[0].slack_configs[1].title`
// is `alerting.receivers[].slack_configs[].title`); names the user chooses are `*` or a
// placeholder (`detectors.ingest_slos.dimensions.<dimension>.service` is
// `detectors.ingest_slos.dimensions.*.service`); `X.*` for a section X means "each key of X".
// The route tree is listed two levels deep (alerting.route.routes[].receiver): a deeper route has
// the same keys. Checked:
//  - every code span that is one whole key, optionally followed by `: value`, whose first part
//    is a top-level key and which has more than one part (`http.threads`,
//    `detectors.cache.require_configured: false`; `retention` alone is a word, and a span that
//    names a file, `alerting.md`, is a file);
//  - every code span in a `key` column of a table. A key with a top-level first part and more
//    than one part is absolute; any other is relative to the table's section: the one named by
//    the last `**YAML** (`section` ...)` line or, after a heading, by the heading (its first code
//    span, or its whole text: "## http", "## `gate`", "### Configuration: `status_page`"). A name
//    that is not a whole key stands for every section whose path ends with it (`webhook_configs`:
//    alerting.receivers[].webhook_configs[]; `tls_config`: each tls_config), and the keys of a
//    list's section are its items' keys (`## components`: `name` is components[].name). Under a
//    heading that names no section, a table's keys must be absolute or top-level ones.
//
// What is built. docs/architecture.md's layer table calls a folder built exactly when it is a
// library in the tree (opsready/<folder>/CMakeLists.txt), and every library has a row. (Other
// features are covered by the checks above: a command or key a page describes must exist.)

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "opsready/app/config.h"
#include "tests/integration/harness.h"

namespace opsready::testing {
namespace {

namespace fs = std::filesystem;

const fs::path& source_dir() {
  static const fs::path dir = fs::weakly_canonical(OPSREADY_SOURCE_DIR);
  return dir;
}

// ---- Reading Markdown ----

struct CodeSpan {
  std::string text;  // its content, line breaks as spaces
  int line = 0;      // where it starts
};

struct Link {
  std::string target;
  int line = 0;
};

struct Heading {
  std::string text;  // as rendered: code spans' content, links' text
  std::vector<CodeSpan> spans;
  int line = 0;
};

struct CodeLine {
  std::string language;  // the fence's first word
  std::string text;
  int line = 0;
};

struct Table {
  int line = 0;                     // of the header
  std::vector<std::string> header;  // the cells' text
  std::vector<int> key_columns;     // the columns headed `key`
  struct Row {
    int line = 0;
    std::vector<std::string> text;             // each cell's text as rendered
    std::vector<std::vector<CodeSpan>> spans;  // each cell's code spans
  };
  std::vector<Row> rows;
  std::optional<std::string> section;  // what the `**YAML**` line or heading before it names
  int section_line = 0;
};

struct Page {
  fs::path file;
  std::string name;             // relative to the source dir, for messages
  std::vector<CodeSpan> spans;  // every inline code span outside tables' key columns
  std::vector<Link> links;
  std::vector<Heading> headings;
  std::vector<CodeLine> code;
  std::vector<Table> tables;
};

// Inline Markdown of one paragraph, table cell or heading (whose first line is `first_line`):
// its code spans, its links and its text as rendered.
struct Inline {
  std::vector<CodeSpan> spans;
  std::vector<Link> links;
  std::string rendered;
};

Inline parse_inline(const std::string& text, int first_line) {
  Inline out;
  int line = first_line;
  std::size_t i = 0;
  const auto run_at = [&text](std::size_t at) {
    std::size_t n = 0;
    while (at + n < text.size() && text[at + n] == '`') ++n;
    return n;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      out.rendered += ' ';
      ++i;
    } else if (c == '\\' && i + 1 < text.size() &&
               std::ispunct(static_cast<unsigned char>(text[i + 1])) != 0) {
      out.rendered += text[i + 1];
      i += 2;
    } else if (c == '`') {
      const std::size_t n = run_at(i);
      // The closing run: the next run of exactly n backticks.
      std::size_t close = std::string::npos;
      for (std::size_t j = i + n; j < text.size();) {
        if (text[j] != '`') {
          ++j;
          continue;
        }
        const std::size_t m = run_at(j);
        if (m == n) {
          close = j;
          break;
        }
        j += m;
      }
      if (close == std::string::npos) {  // literal backticks
        out.rendered.append(n, '`');
        i += n;
        continue;
      }
      std::string content = text.substr(i + n, close - i - n);
      const int span_line = line;
      line += static_cast<int>(std::count(content.begin(), content.end(), '\n'));
      std::replace(content.begin(), content.end(), '\n', ' ');
      if (content.size() >= 2 && content.front() == ' ' && content.back() == ' ' &&
          content.find_first_not_of(' ') != std::string::npos) {
        content = content.substr(1, content.size() - 2);
      }
      out.rendered += content;
      out.spans.push_back({content, span_line});
      i = close + n;
    } else if (c == ']' && i + 1 < text.size() && text[i + 1] == '(') {
      // A link's target: up to the ')' that balances, or up to a space (a title follows).
      std::size_t j = i + 2;
      std::string target;
      if (j < text.size() && text[j] == '<') {
        const auto end = text.find('>', j);
        target = text.substr(j + 1, end == std::string::npos ? 0 : end - j - 1);
        j = end == std::string::npos ? text.size() : end + 1;
      } else {
        int depth = 0;
        for (; j < text.size(); ++j) {
          const char t = text[j];
          if (t == '(') ++depth;
          if (t == ')' && depth-- == 0) break;
          if (std::isspace(static_cast<unsigned char>(t)) != 0) break;
          target += t;
        }
      }
      while (j < text.size() && text[j] != ')') {
        if (text[j] == '\n') ++line;
        ++j;
      }
      out.links.push_back({target, line});
      i = j + 1;
    } else if (c == '[' || (c == '!' && i + 1 < text.size() && text[i + 1] == '[')) {
      ++i;  // link syntax renders as its text
    } else {
      out.rendered += c;
      ++i;
    }
  }
  return out;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// A table row's cells, split at the pipes that are not escaped; `\|` becomes `|`, as GitHub
// reads it, in code spans too.
std::vector<std::string> cells_of(const std::string& row) {
  std::string s = trim(row);
  if (s.starts_with('|')) s.erase(0, 1);
  if (s.ends_with('|') && !s.ends_with("\\|")) s.pop_back();
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '|') {
      out.back() += '|';
      ++i;
    } else if (s[i] == '|') {
      out.emplace_back();
    } else {
      out.back() += s[i];
    }
  }
  for (auto& c : out) c = trim(c);
  return out;
}

bool is_delimiter_row(const std::string& line) {
  static const std::regex delimiter(R"(^\s*\|?(\s*:?-+:?\s*\|)*\s*:?-+:?\s*\|?\s*$)");
  return std::regex_match(line, delimiter);
}

Page read_page(const fs::path& file) {
  Page page;
  page.file = file;
  page.name = fs::relative(file, source_dir()).generic_string();
  std::vector<std::string> lines;
  {
    std::istringstream in(read_file(file));
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  static const std::regex fence_open(R"(^\s*(`{3,}|~{3,})\s*([^`]*)$)");
  static const std::regex heading(R"(^\s{0,3}(#{1,6})\s+(.*?)(\s+#+)?\s*$)");
  static const std::regex list_item(R"(^\s*([-*+]|\d+[.)])\s)");
  std::optional<std::string> section;  // the section key tables are under, for now
  int section_line = 0;
  std::string paragraph;
  int paragraph_line = 0;
  const auto end_paragraph = [&] {
    if (paragraph.empty()) return;
    Inline in = parse_inline(paragraph, paragraph_line);
    if (trim(paragraph).starts_with("**YAML**") && !in.spans.empty()) {
      section = in.spans.front().text;
      section_line = paragraph_line;
    }
    page.spans.insert(page.spans.end(), in.spans.begin(), in.spans.end());
    page.links.insert(page.links.end(), in.links.begin(), in.links.end());
    paragraph.clear();
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    const int n = static_cast<int>(i) + 1;
    std::smatch m;
    if (std::regex_match(l, m, fence_open)) {
      end_paragraph();
      const std::string fence = m[1].str();
      std::istringstream info(m[2].str());
      std::string language;
      info >> language;
      for (++i; i < lines.size(); ++i) {
        const std::string t = trim(lines[i]);
        if (t.starts_with(fence) && t.find_first_not_of(fence[0]) == std::string::npos) break;
        page.code.push_back({language, lines[i], static_cast<int>(i) + 1});
      }
      continue;
    }
    if (std::regex_match(l, m, heading)) {
      end_paragraph();
      Inline in = parse_inline(m[2].str(), n);
      page.headings.push_back({in.rendered, in.spans, n});
      page.spans.insert(page.spans.end(), in.spans.begin(), in.spans.end());
      page.links.insert(page.links.end(), in.links.begin(), in.links.end());
      // A heading names a section with a code span or its whole text (one word).
      section.reset();
      section_line = n;
      if (!in.spans.empty()) {
        section = in.spans.front().text;
      } else if (trim(in.rendered).find(' ') == std::string::npos) {
        section = trim(in.rendered);
      }
      continue;
    }
    if (trim(l).starts_with('|') && i + 1 < lines.size() && is_delimiter_row(lines[i + 1])) {
      end_paragraph();
      Table t;
      t.line = n;
      t.section = section;
      t.section_line = section_line;
      t.header = cells_of(l);
      for (std::size_t c = 0; c < t.header.size(); ++c) {
        if (t.header[c] == "key") t.key_columns.push_back(static_cast<int>(c));
      }
      for (i += 2; i < lines.size() && trim(lines[i]).starts_with('|'); ++i) {
        const int row_line = static_cast<int>(i) + 1;
        Table::Row row{.line = row_line};
        const std::vector<std::string> cells = cells_of(lines[i]);
        for (std::size_t c = 0; c < cells.size(); ++c) {
          Inline in = parse_inline(cells[c], row_line);
          const bool key_column = std::find(t.key_columns.begin(), t.key_columns.end(),
                                            static_cast<int>(c)) != t.key_columns.end();
          if (!key_column) page.spans.insert(page.spans.end(), in.spans.begin(), in.spans.end());
          page.links.insert(page.links.end(), in.links.begin(), in.links.end());
          row.text.push_back(trim(in.rendered));
          row.spans.push_back(std::move(in.spans));
        }
        t.rows.push_back(std::move(row));
      }
      --i;
      page.tables.push_back(std::move(t));
      continue;
    }
    if (trim(l).empty()) {
      end_paragraph();
      continue;
    }
    // A list item starts a block of its own: a code span does not run from one into the next.
    if (std::regex_search(l, list_item)) end_paragraph();
    if (paragraph.empty()) {
      paragraph_line = n;
    } else {
      paragraph += '\n';
    }
    std::string text = l;
    if (trim(text).starts_with('>')) text = trim(text).substr(1);  // a quote's marker
    paragraph += text;
  }
  end_paragraph();
  return page;
}

std::vector<fs::path> documentation() {
  std::vector<fs::path> out = {source_dir() / "README.md"};
  for (const auto& e : fs::recursive_directory_iterator(source_dir() / "docs")) {
    if (e.is_regular_file() && e.path().extension() == ".md") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<Page>& pages() {
  static const std::vector<Page> all = [] {
    std::vector<Page> out;
    for (const auto& f : documentation()) out.push_back(read_page(f));
    return out;
  }();
  return all;
}

// ---- Links ----

// GitHub's slug of a heading's rendered text. Outside ASCII, punctuation and symbols (§, —, ×,
// arrows) are dropped and other characters (letters) kept.
std::string slug(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (std::isalnum(c) != 0 || c == '-' || c == '_') {
        out += static_cast<char>(std::tolower(c));
      } else if (c == ' ') {
        out += '-';
      }
      ++i;
      continue;
    }
    const std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    char32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < len && i + k < text.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    const bool symbol = (cp >= 0xA0 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
                        (cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F);
    if (!symbol) out += text.substr(i, len);
    i += len;
  }
  return out;
}

// The anchors of a page's headings, the repeated ones numbered as GitHub numbers them.
std::set<std::string> anchors(const std::vector<Heading>& headings) {
  std::set<std::string> out;
  std::map<std::string, int> seen;
  for (const auto& h : headings) {
    const std::string s = slug(h.text);
    const int count = seen[s]++;
    out.insert(count == 0 ? s : s + "-" + std::to_string(count));
  }
  return out;
}

bool has_scheme(const std::string& target) {
  static const std::regex scheme(R"(^[A-Za-z][A-Za-z0-9+.-]*:)");
  return std::regex_search(target, scheme);
}

TEST(Docs, EveryLinkInsideTheRepositoryResolves) {
  std::map<fs::path, std::set<std::string>> anchors_of;
  for (const auto& p : pages()) anchors_of[p.file] = anchors(p.headings);
  std::size_t checked = 0;
  for (const auto& page : pages()) {
    for (const auto& link : page.links) {
      if (link.target.empty() || has_scheme(link.target)) continue;
      ++checked;
      const std::string where =
          page.name + ":" + std::to_string(link.line) + ": (" + link.target + ")";
      const auto hash = link.target.find('#');
      const std::string path = link.target.substr(0, hash);
      const std::string anchor = hash == std::string::npos ? "" : link.target.substr(hash + 1);
      const fs::path target =
          path.empty() ? page.file : (page.file.parent_path() / path).lexically_normal();
      const fs::path inside = target.lexically_relative(source_dir());
      if (inside.empty() || inside.begin()->string() == "..") {
        ADD_FAILURE() << where << ": the link leaves the repository";
        continue;
      }
      if (!fs::exists(target)) {
        ADD_FAILURE() << where << ": no such file in the repository (" << inside.generic_string()
                      << ")";
        continue;
      }
      if (anchor.empty() || target.extension() != ".md") continue;
      if (!anchors_of.contains(target)) anchors_of[target] = anchors(read_page(target).headings);
      const auto& known = anchors_of[target];
      if (!known.contains(anchor)) {
        std::string list;
        for (const auto& a : known) list += " #" + a;
        ADD_FAILURE() << where << ": " << inside.generic_string() << " has no heading #" << anchor
                      << " (its headings:" << list << ")";
      }
    }
  }
  EXPECT_GT(checked, 100u) << "the scanner found almost no links: is it reading the pages?";
}

TEST(Docs, SlugsFollowGitHub) {
  EXPECT_EQ(slug("HTTP listener (issue 10)"), "http-listener-issue-10");
  EXPECT_EQ(slug("Readiness aggregate and gate (spec §7, §11)"),
            "readiness-aggregate-and-gate-spec-7-11");
  EXPECT_EQ(slug("Page-Hinkley, River's semantics — PageHinkley (page_hinkley.h)"),
            "page-hinkley-rivers-semantics--pagehinkley-page_hinkleyh");
  EXPECT_EQ(anchors({{.text = "Decisions"}, {.text = "Decisions"}}),
            (std::set<std::string>{"decisions", "decisions-1"}));
  const Inline in = parse_inline("`opsready\nincidents list` and [cli.md](cli.md#x \"t\")", 7);
  EXPECT_EQ(in.rendered, "opsready incidents list and cli.md");
  ASSERT_EQ(in.spans.size(), 1u);
  EXPECT_EQ(in.spans[0].text, "opsready incidents list");
  ASSERT_EQ(in.links.size(), 1u);
  EXPECT_EQ(in.links[0].target, "cli.md#x");
  EXPECT_EQ(in.links[0].line, 8);
}

// ---- What is built ----

// docs/architecture.md's layer table describes what is built: every folder it calls built is a
// library in the tree (opsready/<folder>/CMakeLists.txt), and every library in the tree has a
// row, so a layer can neither be described before it exists nor be added without its row.
TEST(Docs, TheLayerTableIsTheTree) {
  const fs::path file = source_dir() / "docs/architecture.md";
  const Page page = read_page(file);
  std::set<std::string> described;
  for (const auto& table : page.tables) {
    const auto column = [&table](const std::string& name) {
      const auto it = std::find(table.header.begin(), table.header.end(), name);
      return it == table.header.end() ? std::string::npos
                                      : static_cast<std::size_t>(it - table.header.begin());
    };
    const std::size_t folder = column("folder");
    const std::size_t state = column("state");
    if (folder == std::string::npos || state == std::string::npos) continue;
    for (const auto& row : table.rows) {
      if (folder >= row.spans.size() || row.spans[folder].empty() || state >= row.text.size()) {
        ADD_FAILURE() << page.name << ":" << row.line << ": a layer row without a `folder/`";
        continue;
      }
      std::string name = row.spans[folder].front().text;
      if (name.ends_with('/')) name.pop_back();
      described.insert(name);
      const bool built = row.text[state].starts_with("built");
      EXPECT_EQ(fs::exists(source_dir() / "opsready" / name / "CMakeLists.txt"), built)
          << page.name << ":" << row.line << ": `" << name << "/` is \"" << row.text[state]
          << "\" in the layer table, "
          << (built ? "but opsready/" + name + "/ is no library in the tree"
                    : "but opsready/" + name + "/ is a library in the tree");
    }
  }
  ASSERT_FALSE(described.empty()) << page.name << ": no table with `folder` and `state` columns";
  for (const auto& e : fs::recursive_directory_iterator(source_dir() / "opsready")) {
    if (e.path().filename() != "CMakeLists.txt" ||
        e.path().parent_path() == source_dir() / "opsready") {
      continue;
    }
    const std::string name =
        e.path().parent_path().lexically_relative(source_dir() / "opsready").generic_string();
    EXPECT_TRUE(described.contains(name))
        << "opsready/" << name << "/ is a library with no row in " << page.name << "'s layer table";
  }
}

// ---- Commands ----

struct Mention {
  std::string where;               // file:line
  std::string text;                // as written
  std::vector<std::string> words;  // after `opsready`
};

bool is_opsready(const std::string& word) {
  return word == "opsready" ||
         (word.ends_with("/opsready") && word.find_first_of("'\"`") == std::string::npos);
}

std::vector<std::string> words_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The opsready commands of one shell line: each `opsready` (or path to it) in a command's place.
void commands_on(const std::string& where, const std::string& line, std::vector<Mention>& out) {
  const std::vector<std::string> words = words_of(line);
  bool command_place = true;
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string w = words[i];
    if (w.starts_with("$(")) {
      w = w.substr(2);
      command_place = true;
    }
    if (command_place && (w == "$" || w == "sudo" || w == "time" || w == "exec")) continue;
    if (command_place && is_opsready(w)) {
      std::vector<std::string> after(words.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                     words.end());
      out.push_back({where, trim(line), after});
    }
    command_place =
        w == "&&" || w == "||" || w == ";" || w == "|" || w == "(" || w == "$(" || w.ends_with(";");
  }
}

std::vector<Mention> command_mentions() {
  std::vector<Mention> out;
  static const std::set<std::string> shells = {"", "sh", "bash", "shell", "console"};
  for (const auto& page : pages()) {
    for (const auto& span : page.spans) {
      std::string text = trim(span.text);
      if (text.starts_with("$ ")) text = trim(text.substr(2));
      const std::vector<std::string> words = words_of(text);
      if (words.empty() || !is_opsready(words.front())) continue;
      out.push_back({page.name + ":" + std::to_string(span.line), span.text,
                     std::vector<std::string>(words.begin() + 1, words.end())});
    }
    for (const auto& code : page.code) {
      if (!shells.contains(code.language)) continue;
      commands_on(page.name + ":" + std::to_string(code.line), code.text, out);
    }
  }
  return out;
}

// A word that cannot be a subcommand: an option, a placeholder, a value.
bool ends_the_path(const std::string& w) {
  if (w.empty() || std::string_view("-<[{$#('\"\\|&;>").find(w.front()) != std::string::npos) {
    return true;
  }
  return std::any_of(w.begin(), w.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("=/.:,*").find(c) != std::string_view::npos;
  });
}

std::vector<std::string> split(const std::string& s, char by) {
  std::vector<std::string> out(1);
  for (const char c : s) {
    if (c == by) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

struct Help {
  bool ok = false;  // exit 0 and the usage line of the path
  bool has_subcommands = false;
  std::string problem;
};

const Help& help(const std::vector<std::string>& path) {
  static std::map<std::vector<std::string>, Help> cache;
  if (const auto it = cache.find(path); it != cache.end()) return it->second;
  std::vector<std::string> args = path;
  args.push_back("--help");
  const RunResult r = run_opsready(args);
  Help h;
  std::string joined;
  for (const auto& w : path) joined += " " + w;
  const std::string usage = "Usage: " + std::string(OPSREADY_BINARY) + joined + " ";
  std::string usage_line;
  std::istringstream out(r.out);
  for (std::string l; std::getline(out, l);) {
    if (l.starts_with("Usage: ")) {
      usage_line = l;
      break;
    }
  }
  h.has_subcommands = r.out.find("\nSubcommands:\n") != std::string::npos;
  if (r.exit_code != 0) {
    h.problem =
        "`opsready" + joined + " --help` exits " + std::to_string(r.exit_code) + ": " + r.err;
  } else if (!(usage_line + " ").starts_with(usage)) {
    h.problem = "not a command: `opsready" + joined + " --help` prints `" + usage_line + "`";
  } else {
    h.ok = true;
  }
  return cache.emplace(path, h).first->second;
}

// Checks the command path words[i...] below `path`; the number of paths checked.
std::size_t check_path(const Mention& m, std::vector<std::string> path, std::size_t i) {
  if (i >= m.words.size() || ends_the_path(m.words[i])) return 0;
  std::size_t checked = 0;
  for (const auto& alternative : split(m.words[i], '|')) {
    if (alternative.empty()) continue;
    std::vector<std::string> next = path;
    next.push_back(alternative);
    const Help& h = help(next);
    ++checked;
    if (!h.ok) {
      ADD_FAILURE() << m.where << ": `" << m.text << "`: " << h.problem;
      continue;
    }
    if (h.has_subcommands) checked += check_path(m, next, i + 1);
  }
  return checked;
}

TEST(Docs, EveryOpsreadyCommandInCodeExists) {
  const std::vector<Mention> mentions = command_mentions();
  std::size_t checked = 0;
  for (const auto& m : mentions) checked += check_path(m, {}, 0);
  EXPECT_GT(checked, 100u) << "the scanner found almost no commands: is it reading the pages?";
}

TEST(Docs, CommandScannerReadsOnlyCommands) {
  std::vector<Mention> found;
  commands_on("x", "$ opsready alerts ack 0123", found);
  commands_on("x", "cmake --build build --target opsready nats_load   # build/bin/opsready", found);
  commands_on("x", "opsready serve & PID=$!; ./build/dev/bin/opsready gate --from d | tee x",
              found);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].words, (std::vector<std::string>{"alerts", "ack", "0123"}));
  EXPECT_EQ(found[1].words.front(), "serve");
  EXPECT_EQ(found[2].words.front(), "gate");
  EXPECT_TRUE(ends_the_path("GROUP_ID"));
  EXPECT_TRUE(ends_the_path("--config"));
  EXPECT_TRUE(ends_the_path("examples/x.jsonl"));
  EXPECT_FALSE(ends_the_path("page-hinkley|cusum"));
  // A word that is not a subcommand is found out by the usage line, not the exit code.
  EXPECT_FALSE(help({"alerts", "no-such-command"}).ok);
  EXPECT_FALSE(help({"no-such-command"}).ok);
  EXPECT_TRUE(help({"alerts", "ack"}).ok);
}

// ---- Configuration keys ----

class Keys {
 public:
  Keys() {
    for (const auto& k : app::known_config_keys()) {
      keys_.insert(k);
      top_.insert(k.substr(0, k.find_first_of(".[")));
    }
  }

  // `text` as the known keys write it: indexes `[]`, placeholders `*`; nullopt when it is not
  // one whole key.
  static std::optional<std::string> normalized(const std::string& text) {
    static const std::regex key(
        R"(^([a-z_][a-z0-9_]*|\*|<[^<>]+>)((\[[0-9]*\])|\.([a-z_][a-z0-9_]*|\*|<[^<>]+>))*$)");
    if (!std::regex_match(text, key)) return std::nullopt;
    static const std::regex placeholder(R"(<[^<>]+>)");
    static const std::regex index(R"(\[[0-9]+\])");
    return std::regex_replace(std::regex_replace(text, placeholder, "*"), index, "[]");
  }

  [[nodiscard]] bool is_top_level(const std::string& k) const {
    return top_.contains(k.substr(0, k.find_first_of(".[")));
  }

  // A key the reader takes; `X.*` for a section X.
  [[nodiscard]] bool known(const std::string& k) const {
    if (keys_.contains(k)) return true;
    return k.ends_with(".*") && is_section(k.substr(0, k.size() - 2));
  }

  [[nodiscard]] bool is_section(const std::string& k) const {
    const auto below = [this](const std::string& prefix) {
      const auto it = keys_.lower_bound(prefix);
      return it != keys_.end() && it->starts_with(prefix);
    };
    return keys_.contains(k) && (below(k + ".") || below(k + "["));
  }

  // The sections a heading's or `**YAML**` line's name stands for: itself when it is a section,
  // else every section whose path ends with it.
  [[nodiscard]] std::vector<std::string> sections(const std::string& name) const {
    const auto n = normalized(name);
    if (!n) return {};
    if (is_section(*n)) return {*n};
    std::vector<std::string> out;
    for (const auto& k : keys_) {
      if (k.ends_with("." + *n) && is_section(k)) out.push_back(k);
    }
    return out;
  }

  // The keys directly below a section, for messages.
  [[nodiscard]] std::string below(const std::string& section) const {
    std::string out;
    for (const std::string& prefix : {section + ".", section + "[]."}) {
      for (auto it = keys_.lower_bound(prefix); it != keys_.end() && it->starts_with(prefix);
           ++it) {
        const std::string rest = it->substr(prefix.size());
        if (rest.find_first_of(".[") == std::string::npos) out += (out.empty() ? "" : ", ") + rest;
      }
    }
    return out;
  }

 private:
  std::set<std::string> keys_;
  std::set<std::string> top_;
};

const Keys& keys() {
  static const Keys k;
  return k;
}

// A span that names a file (`alerting.md`, `opsready.yml`) rather than a key.
bool is_file_name(const std::string& text) {
  static const std::regex file(R"(\.(md|yml|yaml|json|jsonl|csv|h|cc|txt|html|png|sh|py|db)$)");
  return std::regex_search(text, file);
}

// The issue codes the runbooks document (their `## `code`` headings): `store.slow_write` is an
// issue of the `store` component, not a key of the `store` section.
const std::set<std::string>& runbook_issue_codes() {
  static const std::set<std::string> codes = [] {
    std::set<std::string> out;
    static const std::regex heading(R"(^## `([^`]+)`)");
    for (const auto& e : fs::directory_iterator(source_dir() / "docs" / "runbooks")) {
      std::ifstream in(e.path());
      std::string line;
      std::smatch m;
      while (std::getline(in, line)) {
        if (std::regex_search(line, m, heading)) out.insert(m[1]);
      }
    }
    return out;
  }();
  return codes;
}

TEST(Docs, EveryConfigurationKeyInCodeIsKnown) {
  const Keys& k = keys();
  std::size_t checked = 0;
  for (const auto& page : pages()) {
    for (const auto& span : page.spans) {
      // One whole key, optionally with `: value`.
      std::string text = trim(span.text);
      if (const auto colon = text.find(": "); colon != std::string::npos) text.resize(colon);
      if (text.ends_with(':')) text.pop_back();
      const auto key = Keys::normalized(text);
      if (!key || key->find_first_of(".[") == std::string::npos || !k.is_top_level(*key) ||
          is_file_name(text) || runbook_issue_codes().contains(text)) {
        continue;
      }
      ++checked;
      EXPECT_TRUE(k.known(*key)) << page.name << ":" << span.line << ": `" << span.text
                                 << "` is not a configuration key the reader knows (" << *key
                                 << ")";
    }
    for (const auto& table : page.tables) {
      const std::vector<std::string> sections =
          table.section ? k.sections(*table.section) : std::vector<std::string>{};
      for (const auto& row : table.rows) {
        for (const int column : table.key_columns) {
          if (static_cast<std::size_t>(column) >= row.spans.size()) continue;
          for (const auto& span : row.spans[static_cast<std::size_t>(column)]) {
            ++checked;
            const auto key = Keys::normalized(trim(span.text));
            const std::string where =
                page.name + ":" + std::to_string(span.line) + ": `" + span.text + "`";
            if (!key) {
              ADD_FAILURE() << where << " in a key column is not written as a key";
              continue;
            }
            const bool absolute =
                key->find_first_of(".[") != std::string::npos && k.is_top_level(*key);
            bool found = (absolute || sections.empty()) && k.known(*key);
            for (const auto& s : sections) {
              found = found || k.known(s + "." + *key) || k.known(s + "[]." + *key);
            }
            if (found) continue;
            std::string under;
            for (const auto& s : sections) {
              under += "\n  under " + s + " the reader knows: " + k.below(s);
            }
            ADD_FAILURE() << where << " is not a configuration key the reader knows; the table "
                          << "(line " << table.line << ") is under "
                          << (table.section ? "`" + *table.section + "`" : "no section")
                          << " (line " << table.section_line << ")"
                          << (sections.empty() ? ", which names no section of the configuration"
                                               : "")
                          << under;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 300u) << "the scanner found almost no keys: is it reading the pages?";
}

TEST(Docs, KeyRulesForListsAndNames) {
  EXPECT_EQ(Keys::normalized("alerting.receivers[1].slack_configs[0].title"),
            "alerting.receivers[].slack_configs[].title");
  EXPECT_EQ(Keys::normalized("detectors.ingest_slos.dimensions.<dimension>"),
            "detectors.ingest_slos.dimensions.*");
  EXPECT_EQ(Keys::normalized("evaluate_bus_health(bus.counters()"), std::nullopt);
  const Keys& k = keys();
  EXPECT_TRUE(k.known("alerting.receivers[].slack_configs[].title"));
  EXPECT_TRUE(k.known("detectors.backups.*"));
  EXPECT_FALSE(k.known("ingest.tokens"));
  EXPECT_EQ(k.sections("webhook_configs"),
            (std::vector<std::string>{"alerting.receivers[].webhook_configs"}));
  EXPECT_TRUE(is_file_name("alerting.md"));
}

}  // namespace
}  // namespace opsready::testing
