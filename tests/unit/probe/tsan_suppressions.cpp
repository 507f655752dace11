// ThreadSanitizer suppressions for unit_probe; compiled to nothing without TSan.
//
// Debian's gRPC, Abseil and protobuf are not built with -fsanitize=thread, so TSan cannot see their
// internal synchronisation (absl::Mutex, lock-free atomics) and reports races between gRPC's own
// threads on gRPC's own memory. Suppressed here:
//  - called_from_lib: memory interceptors (memcpy, free, recvmsg, ...) called from those libraries;
//  - race_top: reports whose innermost frame is gRPC/protobuf code (from those libraries or inlined
//    from their headers);
//  - race: reports with a frame in gRPC's call machinery inlined from grpcpp headers, which sits
//    below our calls into gRPC and never runs our reactions.
// A race whose two accesses both have our code (or Asio/libstdc++ inlined into it) innermost is
// still reported. The hand-off of a call from our thread to gRPC's reaction threads is annotated in
// daemon/probe/health_calls.cpp rather than suppressed.
#if defined(__SANITIZE_THREAD__)
// A longer per-thread history (history_size=7, TSan's largest; TSAN_OPTIONS may still set
// another): the `race` patterns below match either access's stack, and on a loaded machine the
// default history lost the earlier access's stack ("failed to restore the stack"), so gRPC's own
// accesses to a call's memory were reported (seen with and without the ManualClock tests, e.g.
// gRPC reading its callback tag on a Watch call that our thread had set up).
extern "C" const char* __tsan_default_options() {
  return "history_size=7";
}

extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libgrpc++.so\n"
         "called_from_lib:libprotobuf.so\n"
         "called_from_lib:libgrpc.so\n"
         "called_from_lib:libcares.so\n"
         // OpenSSL, under gRPC's TLS (tls_probe_test.cpp): its locks are invisible to TSan too.
         "called_from_lib:libssl.so\n"
         "called_from_lib:libcrypto.so\n"
         "called_from_lib:libaddress_sorting.so\n"
         "called_from_lib:libre2.so\n"
         "called_from_lib:libupb.so\n"
         "called_from_lib:libabsl_raw_hash_set.so\n"
         "called_from_lib:libabsl_hashtablez_sampler.so\n"
         "called_from_lib:libabsl_hash.so\n"
         "called_from_lib:libabsl_city.so\n"
         "called_from_lib:libabsl_low_level_hash.so\n"
         "called_from_lib:libabsl_statusor.so\n"
         "called_from_lib:libgpr.so\n"
         "called_from_lib:libabsl_bad_variant_access.so\n"
         "called_from_lib:libabsl_status.so\n"
         "called_from_lib:libabsl_strerror.so\n"
         "called_from_lib:libabsl_random_distributions.so\n"
         "called_from_lib:libabsl_random_seed_sequences.so\n"
         "called_from_lib:libabsl_random_internal_pool_urbg.so\n"
         "called_from_lib:libabsl_random_internal_randen.so\n"
         "called_from_lib:libabsl_random_internal_randen_hwaes.so\n"
         "called_from_lib:libabsl_random_internal_randen_hwaes_impl.so\n"
         "called_from_lib:libabsl_random_internal_randen_slow.so\n"
         "called_from_lib:libabsl_random_internal_platform.so\n"
         "called_from_lib:libabsl_random_internal_seed_material.so\n"
         "called_from_lib:libabsl_random_seed_gen_exception.so\n"
         "called_from_lib:libabsl_cord.so\n"
         "called_from_lib:libabsl_bad_optional_access.so\n"
         "called_from_lib:libabsl_cordz_info.so\n"
         "called_from_lib:libabsl_cord_internal.so\n"
         "called_from_lib:libabsl_cordz_functions.so\n"
         "called_from_lib:libabsl_exponential_biased.so\n"
         "called_from_lib:libabsl_cordz_handle.so\n"
         "called_from_lib:libabsl_str_format_internal.so\n"
         "called_from_lib:libabsl_synchronization.so\n"
         "called_from_lib:libabsl_stacktrace.so\n"
         "called_from_lib:libabsl_symbolize.so\n"
         "called_from_lib:libabsl_debugging_internal.so\n"
         "called_from_lib:libabsl_demangle_internal.so\n"
         "called_from_lib:libabsl_graphcycles_internal.so\n"
         "called_from_lib:libabsl_malloc_internal.so\n"
         "called_from_lib:libabsl_time.so\n"
         "called_from_lib:libabsl_strings.so\n"
         "called_from_lib:libabsl_throw_delegate.so\n"
         "called_from_lib:libabsl_int128.so\n"
         "called_from_lib:libabsl_strings_internal.so\n"
         "called_from_lib:libabsl_base.so\n"
         "called_from_lib:libabsl_spinlock_wait.so\n"
         "called_from_lib:libabsl_raw_logging_internal.so\n"
         "called_from_lib:libabsl_log_severity.so\n"
         "called_from_lib:libabsl_civil_time.so\n"
         "called_from_lib:libabsl_time_zone.so\n"
         // gRPC's own code inlined from grpcpp headers, below the calls we make into gRPC (never a
         // frame that runs our reactions, so races in those stay visible).
         "race:grpc::internal::CallOpSet\n"
         "race:grpc::internal::CallOpSendMessage\n"
         "race:grpc::internal::CallOpGenericRecvMessage\n"
         "race:grpc::internal::CallOpClientRecvStatus\n"
         "race:grpc::internal::InterceptorBatchMethodsImpl\n"
         "race:grpc::internal::Call::PerformOps\n"
         "race:grpc::internal::DeserializeFuncType\n"
         "race:grpc::ClientContext::set_debug_error_string\n"
         "race:grpc::health::v1::Health::Stub::async::\n"
         "race:grpc::ClientReadReactor<grpc::health::v1::HealthCheckResponse>::StartCall\n"
         "race:grpc::ClientUnaryReactor::StartCall\n"
         "race_top:^grpc::\n"
         "race_top:^grpc_\n"
         "race_top:^gpr_\n"
         "race_top:^google::protobuf::\n"
         "race_top:^absl::\n"
         "race_top:libgrpc.so\n"
         "race_top:libgrpc++.so\n"
         "race_top:libgpr.so\n"
         "race_top:libprotobuf.so\n"
         "race_top:libssl.so\n"
         "race_top:libcrypto.so\n"
         "race_top:libabsl_\n";
}
#endif
