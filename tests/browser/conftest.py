def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives headless Chromium (/usr/bin/chromium)")
