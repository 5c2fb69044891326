import { NavLink, Outlet, Route, Routes } from "react-router";
import { LOGIN_URL } from "./api/client";
import { DashboardPage } from "./pages/DashboardPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { OrderPage } from "./pages/OrderPage";
import { OrdersPage } from "./pages/OrdersPage";
import { PortfolioPage } from "./pages/PortfolioPage";
import { RunPage } from "./pages/RunPage";
import { StrategyPage } from "./pages/StrategyPage";

function Layout() {
  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/" className="brand" end>
          Sibyl
        </NavLink>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Dashboard
          </NavLink>
          <NavLink to="/orders">Orders</NavLink>
          <NavLink to="/portfolio">Portfolio</NavLink>
          <a href="/api/docs/">API</a>
          <a href={`${LOGIN_URL}?next=/`}>Log in</a>
        </nav>
      </header>
      <main>
        <Outlet />
      </main>
    </div>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<DashboardPage />} />
        <Route path="strategies/:id" element={<StrategyPage />} />
        <Route path="runs/:id" element={<RunPage />} />
        <Route path="orders" element={<OrdersPage />} />
        <Route path="orders/:id" element={<OrderPage />} />
        <Route path="portfolio" element={<PortfolioPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
