// The backend kit's lifetime idiom for completions that come back from a transport, which may
// outlive the backend: bind a member function to a weak reference, in the manner of Beast's
// bind_front_handler. The handler does nothing once the backend is gone. (Timers need no such
// thing: a runtime::Timer dies with its owner, and its callback with it.)
#pragma once

#include <functional>
#include <utility>

namespace registrar::registry::common {

// `self` derives from std::enable_shared_from_this and is owned by a shared_ptr. `bound`
// arguments come first, then the completion's own: bind_weak(this, &C::on_done, id) called with
// (result) calls this->on_done(id, result) while *this lives.
template <class T, class Member, class... Bound>
auto bind_weak(T* self, Member member, Bound... bound) {
  return [weak = self->weak_from_this(), member, ... bound = std::move(bound)](auto&&... args) {
    if (auto alive = weak.lock())
      std::invoke(member, *alive, bound..., std::forward<decltype(args)>(args)...);
  };
}

}  // namespace registrar::registry::common
