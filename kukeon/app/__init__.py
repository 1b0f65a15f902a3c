"""Entry points that assemble the layers: kukeond (drivers + loop + API)."""
