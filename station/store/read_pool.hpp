#pragma once
// Read-only connections to the store, one per concurrent report query, so that supervisor
// reports (station/reports) never wait behind the controller's writes (WAL readers).

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "station/store/sqlite.hpp"

namespace linestation::store {

class ReadPool {
  public:
    ReadPool(const std::filesystem::path& file, int size);
    class Lease {
      public:
        Lease(ReadPool& pool, std::unique_ptr<Database> db) : pool_(pool), db_(std::move(db)) {}
        ~Lease() { pool_.give_back(std::move(db_)); }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        Database& operator*() { return *db_; }

      private:
        ReadPool& pool_;
        std::unique_ptr<Database> db_;
    };
    Lease lease();

  private:
    void give_back(std::unique_ptr<Database> db);
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<Database>> free_;
};

}  // namespace linestation::store
