#include "station/store/read_pool.hpp"

namespace linestation::store {

ReadPool::ReadPool(const std::filesystem::path& file, int size) {
    for (int i = 0; i < size; ++i) {
        free_.push_back(std::make_unique<Database>(file, Database::Mode::ReadOnly));
    }
}

ReadPool::Lease ReadPool::lease() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !free_.empty(); });
    auto db = std::move(free_.back());
    free_.pop_back();
    return Lease(*this, std::move(db));
}

void ReadPool::give_back(std::unique_ptr<Database> db) {
    {
        std::lock_guard lock(mutex_);
        free_.push_back(std::move(db));
    }
    available_.notify_one();
}

}  // namespace linestation::store
