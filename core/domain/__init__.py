"""The domain: the operation runner, audit, and the operations on products, stock, orders, users and sessions."""
