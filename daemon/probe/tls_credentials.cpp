#include "probe/tls_credentials.hpp"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <optional>

#include "runtime/bounded_file.hpp"
#include "runtime/secret_file.hpp"

namespace registrar::probe {

namespace {

constexpr std::size_t kMaxPemBytes = runtime::kMaxCredentialFileBytes;

// A certificate or CA bundle: public, so no world-readable warning (certificates are 0644).
// Overwrites a string that held key material before it is freed (best effort: copies made by
// gRPC are gRPC's).
struct Wiped {
  std::string text;
  ~Wiped() {
    if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  }
};

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
using Cert = std::unique_ptr<X509, X509Deleter>;
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;

Bio memory_bio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Certificates in `pem` (the first one in *first if asked for). OpenSSL's error queue is left
// empty: its texts are not ours to show.
int count_certificates(const std::string& pem, Cert* first = nullptr) {
  Bio bio = memory_bio(pem);
  int count = 0;
  while (bio) {
    Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    if (count == 0 && first) *first = std::move(cert);
    ++count;
  }
  ERR_clear_error();
  return count;
}

// Never prompts for a passphrase (OpenSSL's default callback would ask on the terminal).
int no_passphrase(char*, int, int, void*) {
  return -1;
}

Key read_private_key(const std::string& pem) {
  Bio bio = memory_bio(pem);
  Key key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  ERR_clear_error();
  return key;
}

bool contains(const std::string& text, const char* what) {
  return text.find(what) != std::string::npos;
}

std::string stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> make_channel_credentials(const config::TlsSpec& tls,
                                                                   std::string& error,
                                                                   const TlsSettingNames& names) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  if (!tls.ca_file.empty()) {
    std::string why;
    auto ca = runtime::read_bounded_file(tls.ca_file, kMaxPemBytes, why);
    if (!ca) {
      error = "cannot read " + names.ca_file + " " + tls.ca_file + ": " + why;
      return nullptr;
    }
    if (count_certificates(*ca) == 0) {
      error = names.ca_file + " " + tls.ca_file + " holds no PEM certificate";
      return nullptr;
    }
    options.pem_root_certs = std::move(*ca);
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    error = names.cert_file + " and " + names.key_file + " must be given together";
    return nullptr;
  }
  if (!tls.cert_file.empty()) {
    std::string why;
    auto chain = runtime::read_bounded_file(tls.cert_file, kMaxPemBytes, why);
    if (!chain) {
      error = "cannot read " + names.cert_file + " " + tls.cert_file + ": " + why;
      return nullptr;
    }
    Cert leaf;
    if (count_certificates(*chain, &leaf) == 0) {
      error = names.cert_file + " " + tls.cert_file + " holds no PEM certificate";
      return nullptr;
    }
    runtime::SecretReadOptions secret;
    secret.max_bytes = kMaxPemBytes;
    secret.what = names.key_file;
    auto read = runtime::read_secret_file(tls.key_file, why, secret);
    if (!read) {
      // `why` names the path and the reason, never content.
      error = "cannot read " + names.key_file + " " + why;
      return nullptr;
    }
    Wiped key_pem{std::move(*read)};
    if (contains(key_pem.text, "ENCRYPTED")) {
      error = names.key_file + " " + tls.key_file +
              " is encrypted with a passphrase, which is not supported: give an unencrypted key "
              "readable only by the daemon's user";
      return nullptr;
    }
    Key key = read_private_key(key_pem.text);
    if (!key) {
      error = names.key_file + " " + tls.key_file + " holds no PEM private key";
      return nullptr;
    }
    const int matches = X509_check_private_key(leaf.get(), key.get());
    ERR_clear_error();
    if (matches != 1) {
      error = names.key_file + " " + tls.key_file + " is not the key of " + names.cert_file + " " +
              tls.cert_file;
      return nullptr;
    }
    options.pem_cert_chain = std::move(*chain);
    options.pem_private_key = key_pem.text;
  }
  auto credentials = grpc::SslCredentials(options);
  if (!options.pem_private_key.empty()) {
    OPENSSL_cleanse(options.pem_private_key.data(), options.pem_private_key.size());
  }
  if (!credentials) error = "gRPC refused the TLS settings of " + names.section;
  return credentials;
}

void apply_tls_arguments(const config::TlsSpec& tls, grpc::ChannelArguments& args) {
  if (tls.enabled && !tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
}

std::string tls_files_stamp(const config::TlsSpec& tls) {
  if (!tls.enabled) return "";
  std::string out;
  for (const std::string* path : {&tls.ca_file, &tls.cert_file, &tls.key_file}) {
    if (!out.empty()) out += ' ';
    out += path->empty() ? "-" : stamp_of(*path);
  }
  return out;
}

std::string tls_settings_text(const config::TlsSpec& tls) {
  if (!tls.enabled) return "plaintext";
  std::string out = "tls ca=" + (tls.ca_file.empty() ? std::string("<system roots>") : tls.ca_file);
  if (!tls.cert_file.empty()) out += " cert=" + tls.cert_file + " key=" + tls.key_file;
  if (!tls.server_name.empty()) out += " name=" + tls.server_name;
  return out;
}

}  // namespace registrar::probe
