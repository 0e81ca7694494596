// Code archives with libarchive.
//
// Packing is deterministic (sorted paths, one fixed timestamp, owner 0, modes reduced to 0644 or
// 0755) so an unchanged directory gives the same bytes and the same SHA-256.
//
// Extraction treats the zip as hostile. Every entry name is checked component by component
// before it is joined to a path; only regular files and directories are created, with O_EXCL
// and O_NOFOLLOW, inside a fresh private directory that contains nothing but what this code made
// (so no link can redirect a write). Sizes are counted as bytes are written, never trusted from
// headers. The result is renamed into place only when everything succeeded.
#include "control/zip.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <set>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "common/crypto.h"
#include "common/defer.h"
#include "common/unique_fd.h"

namespace gust::control {
namespace {

// 1980-01-02 rather than the DOS epoch itself: libarchive stores zip times as local DOS time,
// and a day of margin keeps the stamp representable in every time zone. The local-time
// conversion means two hosts in different zones may produce different bytes for the same tree;
// one host always produces the same bytes.
constexpr time_t kFixedMtime = 315619200;

constexpr std::array<std::string_view, 2> kSkippedDirectories = {".git", "__pycache__"};

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

// An entry name for error messages: truncated, control bytes escaped.
std::string shown(std::string_view name) {
  constexpr size_t kMaxShown = 100;
  std::string out = "\"";
  for (size_t i = 0; i < name.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > kMaxShown) out += "...";
  return out + "\"";
}

std::string archiveError(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

Status writeAll(int fd, const char* data, size_t size, const std::filesystem::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno(fmt::format("cannot write {}", path.string()), errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return okStatus();
}

// ---------------------------------------------------------------------------------------------
// Packing

struct SourceFile {
  std::string name;              // path inside the zip, '/'-separated
  std::filesystem::path source;  // the file to read (a symlink's resolved target)
};

bool isInside(const std::filesystem::path& path, const std::filesystem::path& root) {
  std::filesystem::path rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

Result<std::vector<SourceFile>> collectFiles(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path root = std::filesystem::canonical(dir, ec);
  if (ec || !std::filesystem::is_directory(root, ec))
    return Error::invalid(
        fmt::format("cannot zip {}: not a directory{}; pass the function's "
                    "code directory",
                    dir.string(), ec ? ": " + ec.message() : ""));
  std::vector<SourceFile> files;
  std::filesystem::recursive_directory_iterator it(root, ec);
  if (ec) return Error::internal(fmt::format("cannot list {}: {}", root.string(), ec.message()));
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::filesystem::path& p = it->path();
    std::string name = p.lexically_relative(root).generic_string();
    std::filesystem::file_status st = it->symlink_status(ec);
    if (ec) break;
    if (std::filesystem::is_directory(st)) {
      std::string leaf = p.filename().string();
      if (std::find(kSkippedDirectories.begin(), kSkippedDirectories.end(), leaf) !=
          kSkippedDirectories.end())
        it.disable_recursion_pending();
      continue;
    }
    std::filesystem::path source = p;
    if (std::filesystem::is_symlink(st)) {
      // Zips keep no links; a link to a file inside the directory is packed as that file.
      std::filesystem::path target = std::filesystem::canonical(p, ec);
      if (ec)
        return Error::invalid(fmt::format("cannot zip {}: symlink {} is broken ({}); remove it",
                                          dir.string(), shown(name), ec.message()));
      if (!isInside(target, root))
        return Error::invalid(fmt::format(
            "cannot zip {}: symlink {} points outside the directory (to {}); copy the file into "
            "the directory instead",
            dir.string(), shown(name), target.string()));
      st = std::filesystem::status(target, ec);
      if (ec) break;
      if (!std::filesystem::is_regular_file(st))
        return Error::invalid(fmt::format(
            "cannot zip {}: symlink {} does not point to a regular file; zips keep no links, "
            "replace it with a copy",
            dir.string(), shown(name)));
      source = target;
    } else if (!std::filesystem::is_regular_file(st)) {
      return Error::invalid(fmt::format(
          "cannot zip {}: {} is not a regular file (a socket, fifo or device); remove it",
          dir.string(), shown(name)));
    }
    files.push_back({std::move(name), std::move(source)});
  }
  if (ec) return Error::internal(fmt::format("cannot list {}: {}", root.string(), ec.message()));
  std::sort(files.begin(), files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.name < b.name; });
  return files;
}

la_ssize_t appendToString(archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

Status addFile(archive* a, const SourceFile& file, uint64_t& unzipped_total) {
  UniqueFd fd(::open(file.source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno(fmt::format("cannot open {}", file.source.string()), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return Error::fromErrno(fmt::format("cannot stat {}", file.source.string()), errno);
  unzipped_total += static_cast<uint64_t>(st.st_size);
  if (unzipped_total > kMaxUnzippedBytes)
    return Error::tooLarge(fmt::format(
        "code is larger than {} MB unzipped (at {}); remove files the function does not need",
        kMaxUnzippedBytes >> 20, shown(file.name)));

  std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), file.name.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), (st.st_mode & 0111) ? 0755 : 0644);
  archive_entry_set_size(entry.get(), st.st_size);
  archive_entry_set_mtime(entry.get(), kFixedMtime, 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK)
    return Error::internal(
        fmt::format("cannot add {} to the zip: {}", shown(file.name), archiveError(a)));

  char buf[65536];
  int64_t remaining = st.st_size;
  while (remaining > 0) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno(fmt::format("cannot read {}", file.source.string()), errno);
    }
    if (n == 0 || n > remaining) break;
    if (archive_write_data(a, buf, static_cast<size_t>(n)) != n)
      return Error::internal(
          fmt::format("cannot add {} to the zip: {}", shown(file.name), archiveError(a)));
    remaining -= n;
  }
  if (remaining != 0)
    return Error::unavailable(
        fmt::format("{} changed while it was being zipped; try again", file.source.string()));
  return okStatus();
}

// ---------------------------------------------------------------------------------------------
// Extraction

// The components of a zip entry name, or an error saying why the name is unsafe. "." components
// and repeated or trailing slashes are dropped; everything that could leave the directory is
// rejected rather than repaired.
Result<std::vector<std::string>> safeComponents(std::string_view name) {
  if (name.empty()) return Error::invalid("code zip: an entry has an empty name; rebuild the zip");
  if (name.front() == '/')
    return Error::invalid(fmt::format(
        "code zip: entry {} is an absolute path; zip the function directory with relative paths",
        shown(name)));
  if (name.find('\\') != std::string_view::npos)
    return Error::invalid(fmt::format(
        "code zip: entry {} contains a backslash; zip paths use '/' — rebuild the zip with a "
        "standard zip tool",
        shown(name)));
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (part == "..")
      return Error::invalid(fmt::format(
          "code zip: entry {} escapes the code directory; zip the function directory with "
          "relative paths",
          shown(name)));
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

Status makeDirectory(const std::filesystem::path& path, std::string_view entry) {
  if (::mkdir(path.c_str(), 0755) != 0) {
    int err = errno;
    struct stat st {};
    if (err == EEXIST && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return okStatus();
    if (err == EEXIST)
      return Error::invalid(fmt::format(
          "code zip: entry {} needs a directory where the zip has a file; rebuild the zip",
          shown(entry)));
    return Error::fromErrno(
        fmt::format("code zip: cannot create directory for entry {}", shown(entry)), err);
  }
  // mkdir's mode is filtered by the umask; the cache layout promises 0755.
  if (::chmod(path.c_str(), 0755) != 0)
    return Error::fromErrno(fmt::format("cannot chmod {}", path.string()), errno);
  return okStatus();
}

class Extractor {
 public:
  Extractor(std::filesystem::path root, ExtractLimits limits)
      : root_(std::move(root)), limits_(limits) {}

  Status run(std::string_view zip) {
    std::unique_ptr<archive, ArchiveReadFree> a(archive_read_new());
    if (!a) return Error::internal("code zip: cannot allocate a libarchive reader");
    // Only the seekable reader: it trusts the central directory, as every other zip tool does,
    // and rejects a truncated archive instead of extracting whatever local headers survived.
    archive_read_support_format_zip_seekable(a.get());
    if (archive_read_open_memory(a.get(), zip.data(), zip.size()) != ARCHIVE_OK)
      return Error::invalid(
          fmt::format("code zip: cannot read: {}; upload a zip file", archiveError(a.get())));
    for (;;) {
      archive_entry* entry = nullptr;
      int rc = archive_read_next_header(a.get(), &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
        return Error::invalid(fmt::format("code zip: cannot read entry {}: {}; upload a valid zip",
                                          entries_ + 1, archiveError(a.get())));
      if (++entries_ > limits_.max_entries)
        return Error::tooLarge(fmt::format(
            "code zip: has more than {} entries; allowed: at most {}; remove files the function "
            "does not need",
            limits_.max_entries, limits_.max_entries));
      GUST_TRY(extractEntry(a.get(), entry));
    }
    if (files_ == 0)
      return Error::invalid("code zip: contains no files; zip the function's code directory");
    return okStatus();
  }

 private:
  Status extractEntry(archive* a, archive_entry* entry) {
    const char* raw_name = archive_entry_pathname(entry);
    if (raw_name == nullptr)
      return Error::invalid(fmt::format(
          "code zip: entry {} has a name that cannot be read; use UTF-8 file names", entries_));
    std::string_view name(raw_name);
    GUST_ASSIGN_OR_RETURN(std::vector<std::string> parts, safeComponents(name));

    if (archive_entry_hardlink(entry) != nullptr)
      return Error::invalid(fmt::format(
          "code zip: entry {} is a hard link; only regular files and directories are allowed",
          shown(name)));
    mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFLNK)
      return Error::invalid(fmt::format(
          "code zip: entry {} is a symbolic link; only regular files and directories are allowed "
          "— replace the link with a copy of its target",
          shown(name)));
    if (type != AE_IFREG && type != AE_IFDIR)
      return Error::invalid(fmt::format(
          "code zip: entry {} is not a regular file or directory (a device, fifo or socket); "
          "remove it",
          shown(name)));
    if (parts.empty()) {
      if (type == AE_IFDIR) return okStatus();  // "./": the root itself
      return Error::invalid(
          fmt::format("code zip: entry {} has no file name; rebuild the zip", shown(name)));
    }

    std::string normalized;
    for (const auto& p : parts) normalized += (normalized.empty() ? "" : "/") + p;
    if (!seen_.insert(normalized).second)
      return Error::invalid(
          fmt::format("code zip: entry {} appears twice; rebuild the zip so every path is unique",
                      shown(name)));

    std::filesystem::path path = root_;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      path /= parts[i];
      GUST_TRY(makeDirectory(path, name));
    }
    path /= parts.back();
    if (type == AE_IFDIR) return makeDirectory(path, name);
    return writeFile(a, entry, path, name);
  }

  Status writeFile(archive* a, archive_entry* entry, const std::filesystem::path& path,
                   std::string_view name) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) {
      int err = errno;
      if (err == EEXIST || err == ENOTDIR)
        return Error::invalid(fmt::format(
            "code zip: entry {} collides with another entry; rebuild the zip", shown(name)));
      return Error::fromErrno(fmt::format("code zip: cannot create entry {}", shown(name)), err);
    }
    char buf[65536];
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf, sizeof buf);
      if (n == 0) break;
      if (n < 0)
        return Error::invalid(fmt::format("code zip: cannot read entry {}: {}; upload a valid zip",
                                          shown(name), archiveError(a)));
      written_ += static_cast<uint64_t>(n);
      if (written_ > limits_.max_unzipped_bytes)
        return Error::tooLarge(fmt::format(
            "code zip: unzipped code exceeds {} bytes (at entry {}); remove files the function "
            "does not need",
            limits_.max_unzipped_bytes, shown(name)));
      GUST_TRY(writeAll(fd.get(), buf, static_cast<size_t>(n), path));
    }
    mode_t mode = (archive_entry_perm(entry) & 0111) ? 0755 : 0644;
    if (::fchmod(fd.get(), mode) != 0)
      return Error::fromErrno(fmt::format("cannot chmod {}", path.string()), errno);
    ++files_;
    return okStatus();
  }

  std::filesystem::path root_;
  ExtractLimits limits_;
  uint64_t entries_ = 0;
  uint64_t files_ = 0;
  uint64_t written_ = 0;
  std::set<std::string> seen_;
};

}  // namespace

Result<std::string> zipDirectory(const std::filesystem::path& dir) {
  GUST_ASSIGN_OR_RETURN(std::vector<SourceFile> files, collectFiles(dir));
  std::string out;
  std::unique_ptr<archive, ArchiveWriteFree> a(archive_write_new());
  if (!a) return Error::internal("cannot allocate a libarchive writer");
  if (archive_write_set_format_zip(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open(a.get(), &out, nullptr, appendToString, nullptr) != ARCHIVE_OK)
    return Error::internal(fmt::format("cannot start a zip: {}", archiveError(a.get())));
  uint64_t unzipped_total = 0;
  for (const auto& file : files) {
    GUST_TRY(addFile(a.get(), file, unzipped_total));
    if (out.size() > kMaxZipBytes)
      return Error::tooLarge(fmt::format(
          "code zip of {} is larger than {} MB; remove files the function does not need",
          dir.string(), kMaxZipBytes >> 20));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return Error::internal(fmt::format("cannot finish the zip: {}", archiveError(a.get())));
  if (out.size() > kMaxZipBytes)
    return Error::tooLarge(
        fmt::format("code zip of {} is larger than {} MB; remove files the function does not need",
                    dir.string(), kMaxZipBytes >> 20));
  return out;
}

Status extractZip(std::string_view zip, const std::filesystem::path& dest, ExtractLimits limits) {
  struct stat st {};
  if (::lstat(dest.c_str(), &st) == 0)
    return Error{ErrorCode::kAlreadyExists,
                 fmt::format("cannot extract code into {}: it already exists", dest.string())};
  std::filesystem::path parent = dest.parent_path();
  if (parent.empty()) parent = ".";
  // The staging directory sits next to `dest` so the final rename stays on one filesystem.
  std::filesystem::path staging =
      parent / fmt::format(".{}.extract-{}", dest.filename().string(), randomHex(8));
  if (::mkdir(staging.c_str(), 0700) != 0)
    return Error::fromErrno(fmt::format("cannot create {}; check that {} exists and is writable",
                                        staging.string(), parent.string()),
                            errno);
  Defer cleanup([&] {
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);
  });
  try {
    Extractor extractor(staging, limits);
    GUST_TRY(extractor.run(zip));
  } catch (const std::exception& e) {
    // Only allocation failures can throw here; the Status-returning code does the rest.
    return Error::internal(fmt::format("code zip: extraction failed: {}", e.what()));
  }
  if (::chmod(staging.c_str(), 0755) != 0)
    return Error::fromErrno(fmt::format("cannot chmod {}", staging.string()), errno);
  if (::rename(staging.c_str(), dest.c_str()) != 0) {
    int err = errno;
    if (err == EEXIST || err == ENOTEMPTY)
      return Error{
          ErrorCode::kAlreadyExists,
          fmt::format("cannot extract code into {}: it was created meanwhile", dest.string())};
    return Error::fromErrno(fmt::format("cannot move extracted code to {}", dest.string()), err);
  }
  cleanup.cancel();
  return okStatus();
}

}  // namespace gust::control
