import { NavLink, Outlet, Route, Routes } from "react-router";
import { SessionMenu } from "./components/session/SessionMenu/SessionMenu";
import {
  GlobalTradingBanner,
  GlobalTradingStateIndicator,
} from "./components/tradingState/TradingState";
import { AccountPage } from "./pages/AccountPage";
import { AccountsPage } from "./pages/AccountsPage";
import { BacktestPage } from "./pages/BacktestPage";
import { BacktestsPage } from "./pages/BacktestsPage";
import { DashboardPage } from "./pages/DashboardPage";
import { EditStrategyPage } from "./pages/EditStrategyPage";
import { LoginPage } from "./pages/LoginPage";
import { NewBacktestPage } from "./pages/NewBacktestPage";
import { NewReplayPage } from "./pages/NewReplayPage";
import { NewStrategyPage } from "./pages/NewStrategyPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { NotificationsPage } from "./pages/NotificationsPage";
import { ApprovalsPage } from "./pages/ApprovalsPage";
import { OrderPage } from "./pages/OrderPage";
import { OrdersPage } from "./pages/OrdersPage";
import { PortfolioPage } from "./pages/PortfolioPage";
import { PositionHistoryPage } from "./pages/PositionHistoryPage";
import { PromptsPage } from "./pages/PromptsPage";
import { PromptTemplatePage } from "./pages/PromptTemplatePage";
import { RunPage } from "./pages/RunPage";
import { RunsPage } from "./pages/RunsPage";
import { SignalsPage } from "./pages/SignalsPage";
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
          <NavLink to="/signals">Signals</NavLink>
          <NavLink to="/runs">Runs</NavLink>
          <NavLink to="/orders">Orders</NavLink>
          <NavLink to="/approvals">Approvals</NavLink>
          <NavLink to="/backtests">Backtests</NavLink>
          <NavLink to="/portfolio">Portfolio</NavLink>
          <NavLink to="/accounts">Accounts</NavLink>
          <NavLink to="/prompts">Prompts</NavLink>
          <NavLink to="/notifications">Notifications</NavLink>
          <a href="/api/docs/">API</a>
        </nav>
        <GlobalTradingStateIndicator />
        <SessionMenu />
      </header>
      <GlobalTradingBanner />
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
        <Route path="login" element={<LoginPage />} />
        <Route path="strategies/new" element={<NewStrategyPage />} />
        <Route path="strategies/:id" element={<StrategyPage />} />
        <Route path="strategies/:id/edit" element={<EditStrategyPage />} />
        <Route path="runs" element={<RunsPage />} />
        <Route path="runs/:id" element={<RunPage />} />
        <Route path="signals" element={<SignalsPage />} />
        <Route path="backtests" element={<BacktestsPage />} />
        <Route path="backtests/new" element={<NewBacktestPage />} />
        <Route path="backtests/replay" element={<NewReplayPage />} />
        <Route path="backtests/:id" element={<BacktestPage />} />
        <Route path="orders" element={<OrdersPage />} />
        <Route path="orders/:id" element={<OrderPage />} />
        <Route path="approvals" element={<ApprovalsPage />} />
        <Route path="portfolio" element={<PortfolioPage />} />
        <Route path="positions/history" element={<PositionHistoryPage />} />
        <Route path="accounts" element={<AccountsPage />} />
        <Route path="accounts/:id" element={<AccountPage />} />
        <Route path="prompts" element={<PromptsPage />} />
        <Route path="prompts/:name" element={<PromptTemplatePage />} />
        <Route path="notifications" element={<NotificationsPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
